#include "fuzz_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace chatbot::fuzz {

namespace {

struct Scratch {
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/chatbot-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Fail("cannot create a scratch folder", pattern);
    path = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

}  // namespace

const std::filesystem::path& ScratchDir() {
  static const Scratch scratch;
  return scratch.path;
}

// Plain open and write rather than an ofstream: its 8 KiB buffer, allocated
// and filled by ASan for every file, was a tenth of the folder targets' time.
bool TryWriteFile(const char* path, std::string_view bytes) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("cannot write", path);
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) Fail("cannot write", path);
  return true;
}

void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  if (!TryWriteFile(path.c_str(), bytes)) Fail("cannot write", path.string());
}

}  // namespace chatbot::fuzz
