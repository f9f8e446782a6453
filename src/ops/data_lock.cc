#include "ops/data_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/private_files.h"

namespace chatbot::ops {
namespace fs = std::filesystem;

namespace {

int OpenLockFile(const fs::path& path, bool create) {
  if (create) {
    // The lock sits next to the sessions, which are private.
    const fs::path parent = path.parent_path();
    if (!parent.empty()) CreatePrivateDirectories(parent);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0 && create) {
    throw IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

flock WholeFile(short type) {
  flock lock{};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;
  return lock;
}

pid_t ConflictingHolder(int fd, short type) {
  flock query = WholeFile(type);
  if (::fcntl(fd, F_GETLK, &query) != 0 || query.l_type == F_UNLCK) return 0;
  return query.l_pid;
}

}  // namespace

fs::path DataLock::PathFor(const fs::path& sessions_database) {
  return sessions_database.parent_path() / "serve.lock";
}

std::unique_ptr<DataLock> DataLock::AcquireShared(const fs::path& lock_path) {
  const int fd = OpenLockFile(lock_path, true);
  flock lock = WholeFile(F_RDLCK);
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int error = errno;
    const pid_t holder = ConflictingHolder(fd, F_RDLCK);
    ::close(fd);
    if (error == EACCES || error == EAGAIN) {
      throw IoError("a restore is replacing the data (" + lock_path.string() + " is locked" +
                    (holder > 0 ? " by process " + std::to_string(holder) : std::string()) +
                    "); start the service when it has finished");
    }
    throw IoError("cannot lock " + lock_path.string() + ": " + std::strerror(error));
  }
  return std::unique_ptr<DataLock>(new DataLock(fd));
}

std::unique_ptr<DataLock> DataLock::TryAcquireExclusive(const fs::path& lock_path, pid_t* holder) {
  *holder = 0;
  const int fd = OpenLockFile(lock_path, true);
  flock lock = WholeFile(F_WRLCK);
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int error = errno;
    *holder = ConflictingHolder(fd, F_WRLCK);
    ::close(fd);
    if (error == EACCES || error == EAGAIN) return nullptr;
    throw IoError("cannot lock " + lock_path.string() + ": " + std::strerror(error));
  }
  return std::unique_ptr<DataLock>(new DataLock(fd));
}

pid_t DataLock::Holder(const fs::path& lock_path) {
  const int fd = OpenLockFile(lock_path, false);
  if (fd < 0) return 0;
  const pid_t holder = ConflictingHolder(fd, F_WRLCK);
  ::close(fd);
  return holder;
}

DataLock::~DataLock() {
  ::close(fd_);  // closing releases the process's locks on the file
}

}  // namespace chatbot::ops
