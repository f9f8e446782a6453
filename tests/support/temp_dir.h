// A fresh directory under the system's temporary directory for one test,
// removed with everything in it on destruction. Unit and integration tests
// both use it (tests/support).
#ifndef CHATBOT_TESTS_SUPPORT_TEMP_DIR_H_
#define CHATBOT_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace chatbot::test_support {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "chatbot-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    // Canonical, so that paths printed by a child process compare equal.
    path_ = std::filesystem::canonical(pattern);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace chatbot::test_support

#endif  // CHATBOT_TESTS_SUPPORT_TEMP_DIR_H_
