#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/disk_space.h"
#include "common/error.h"

namespace chatbot {
namespace {

std::string ErrnoMessage(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

// Closes the descriptor on every path out of WriteFileAtomically.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

void SyncDirectory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(ErrnoMessage("cannot open directory", dir));
  if (::fsync(fd.get()) != 0) throw IoError(ErrnoMessage("cannot sync directory", dir));
}

void WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path dir = path.parent_path();
  if (!dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) throw IoError("cannot create directory " + dir.string() + ": " + error.message());
  }

  std::random_device random;
  const std::filesystem::path temp =
      path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(random());
  FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw IoError(ErrnoMessage("cannot create", temp));

  auto fail = [&](const std::string& what) {
    // A full disk says how much space the file needs, so that whoever frees
    // some knows how much.
    const std::string message =
        errno == ENOSPC || errno == EDQUOT
            ? "cannot write " + path.string() + ": " + NoSpaceMessage(dir, contents.size())
            : ErrnoMessage(what, temp);
    ::close(fd.release());
    ::unlink(temp.c_str());
    throw IoError(message);
  };

  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t written = ::write(fd.get(), data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync");
  if (::close(fd.release()) != 0) {
    ::unlink(temp.c_str());
    throw IoError(ErrnoMessage("cannot close", temp));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = ErrnoMessage("cannot rename into place", path);
    ::unlink(temp.c_str());
    throw IoError(message);
  }
  SyncDirectory(dir);
}

std::string ReadFile(const std::filesystem::path& path) {
  // An ifstream opens a directory without complaint and reads nothing.
  if (std::filesystem::is_directory(path)) {
    throw IoError("cannot read " + path.string() + ": Is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + path.string());
  return std::move(buffer).str();
}

}  // namespace chatbot
