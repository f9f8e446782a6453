#include "common/private_files.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace chatbot {

void CreatePrivateDirectories(const std::filesystem::path& dir, mode_t mode) {
  std::filesystem::path prefix;
  for (const std::filesystem::path& part : dir) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), mode) == 0) {
      // mkdir applies the umask; the mode must not depend on it.
      if (::chmod(prefix.c_str(), mode) != 0) {
        throw IoError("cannot set the mode of directory " + prefix.string() + ": " +
                      std::strerror(errno));
      }
    } else if (errno != EEXIST) {
      throw IoError("cannot create directory " + prefix.string() + ": " + std::strerror(errno));
    }
  }
}

void CreatePrivateFile(const std::filesystem::path& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return;
    throw IoError("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  const int changed = ::fchmod(fd, mode);
  const int saved = errno;
  ::close(fd);
  if (changed != 0) {
    throw IoError("cannot set the mode of " + path.string() + ": " + std::strerror(saved));
  }
}

std::optional<gid_t> LookUpGroup(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

}  // namespace chatbot
