// What the `chatbot` command-line integration tests share (cli_test.cc,
// cli_config_test.cc): running the real binary (CHATBOT_BINARY) as a child
// process in a fresh temporary working directory, with every CHATBOT_*
// variable removed from its environment except those the test sets; the
// exit statuses; a reader of `config show`; and a fixture with a model
// trained once per test binary.
//
// Exit statuses (src/cli/command_context.h): 0 ok, 1 the command ran and
// found a problem (model), 2 bad arguments, configuration or data.
#ifndef CHATBOT_TESTS_INTEGRATION_CLI_FIXTURE_H_
#define CHATBOT_TESTS_INTEGRATION_CLI_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "process_runner.h"

namespace chatbot::testing {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

inline const fs::path kSourceDir = CHATBOT_SOURCE_DIR;
inline const fs::path kBinary = CHATBOT_BINARY;
inline const std::string kDomain = (kSourceDir / "data" / "domain").string();
inline const std::vector<std::string> kSections = {
    "paths", "logging",  "bot", "nlu",  "server",   "sessions", "store",      "cluster", "security",
    "tls",   "dialogue", "svm", "bert", "ensemble", "backup",   "monitoring", "web"};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs `chatbot ARGS...` in `cwd`.
inline ProcessResult Chatbot(const fs::path& cwd, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& environment = {},
                             const std::string& stdin_data = "") {
  ProcessOptions options;
  options.program = kBinary;
  options.args = args;
  options.working_directory = cwd;
  options.environment = environment;
  options.stdin_data = stdin_data;
  return RunProcess(options);
}

inline std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    fields.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return fields;
}

inline std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// `chatbot config show` output: "[section]" headers and "key = value  # origin"
// lines.
struct ShownSetting {
  std::string value;
  std::string origin;
};
struct ShownConfig {
  std::vector<std::string> sections;
  std::map<std::string, ShownSetting> settings;  // by "section.key"
  std::string file_line;                         // "# Config file: ..."
};

inline ShownConfig ParseConfigShow(const std::string& text) {
  ShownConfig shown;
  std::string section;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("# Config file:", 0) == 0) shown.file_line = line;
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      shown.sections.push_back(section);
      continue;
    }
    const size_t equals = line.find(" = ");
    const size_t comment = line.rfind("  # ");
    if (equals == std::string::npos || comment == std::string::npos || comment < equals) {
      ADD_FAILURE() << "unexpected config show line: " << line;
      continue;
    }
    shown.settings[section + "." + line.substr(0, equals)] = {
        line.substr(equals + 3, comment - equals - 3), line.substr(comment + 4)};
  }
  return shown;
}

inline bool ContainsTemplateVariable(const std::string& text) {
  static const std::regex kVariable(R"(\{[A-Za-z_][A-Za-z0-9_]*\})");
  return std::regex_search(text, kVariable);
}

// Flips every bit of the byte at `offset` of `path`.
inline void FlipByte(const fs::path& path, size_t offset) {
  std::string contents = ReadFileToString(path);
  ASSERT_LT(offset, contents.size());
  contents[offset] = static_cast<char>(~static_cast<unsigned char>(contents[offset]));
  WriteStringToFile(path, contents);
}

// ---------------------------------------------------------------------------
// A model trained once per test suite (SetUpTestSuite) on the default domain;
// tests that need one copy it into their own working directory, so that none
// can damage another's.

struct SharedModel {
  std::unique_ptr<TempDir> dir;
  ProcessResult training;
  bool ok = false;
  fs::path models() const { return dir->path() / "model"; }
};

inline std::unique_ptr<SharedModel>& SharedModelSlot() {
  static std::unique_ptr<SharedModel> shared;
  return shared;
}

class CliWithModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& shared = SharedModelSlot();
    if (shared) return;
    shared = std::make_unique<SharedModel>();
    shared->dir = std::make_unique<TempDir>("chatbot-cli-model");
    shared->training = Chatbot(shared->dir->path(), {"train", "--data", kDomain});
    shared->ok = shared->training.exit_code == kExitOk &&
                 fs::exists(shared->models() / "svm" / "manifest.json");
  }
  // The model stays for the other suites of this process; the static's
  // destructor removes it at exit.

  void SetUp() override {
    ASSERT_TRUE(SharedModelSlot()->ok)
        << "training the shared model failed: " << Describe(SharedModelSlot()->training);
  }

  // Copies the shared model to `work_/model` (the default models directory).
  void InstallModel() {
    fs::copy(SharedModelSlot()->models(), work_.path() / "model", fs::copy_options::recursive);
  }

  TempDir work_{"chatbot-cli"};
};
}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_CLI_FIXTURE_H_
