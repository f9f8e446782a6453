#include "security/admin_key_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/private_files.h"

namespace chatbot::security {
namespace {

std::string Errno(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

void WritePrivateFile(const std::filesystem::path& path, const std::string& contents) {
  const std::filesystem::path dir = path.parent_path();
  if (!dir.empty()) {
    CreatePrivateDirectories(dir);
  }
  std::random_device random;
  const std::filesystem::path temp =
      path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(random());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw IoError(Errno("cannot create", temp));
  const auto fail = [&](const std::string& what) {
    const std::string message = Errno(what, temp);
    ::close(fd);
    ::unlink(temp.c_str());
    throw IoError(message);
  };
  // The umask can only take bits away; make sure of the exact mode.
  if (::fchmod(fd, 0600) != 0) fail("cannot set the mode of");
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot sync");
  if (::close(fd) != 0) {
    const std::string message = Errno("cannot close", temp);
    ::unlink(temp.c_str());
    throw IoError(message);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = Errno("cannot rename into place", path);
    ::unlink(temp.c_str());
    throw IoError(message);
  }
  SyncDirectory(dir);
}

std::optional<BootstrappedKey> EnsureAdminKey(KeyManager* keys, const std::filesystem::path& file) {
  if (keys->HasActiveAdmin()) return std::nullopt;
  NewKey request;
  request.name = "initial-admin";
  request.role = Role::kAdmin;
  IssuedKey issued = keys->Create(request, Actor::System("serve (first start)"));
  try {
    WritePrivateFile(file, issued.key + "\n");
  } catch (const IoError&) {
    OPENSSL_cleanse(issued.key.data(), issued.key.size());
    keys->Revoke(issued.record.id, Actor::System("serve (first start)"));
    throw;
  }
  OPENSSL_cleanse(issued.key.data(), issued.key.size());
  return BootstrappedKey{issued.record.id, file};
}

}  // namespace chatbot::security
