// docs/OPERATIONS.md is a guide to commands that exist: every `chatbot`
// command in its shell blocks names real subcommands and flags (checked
// against the real binary's --help), every URL path it curls is a route of
// the service, every file of the repository it names exists, every systemd
// unit it names ships in deploy/systemd; and it has the sections the
// operations guide must have.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "process_runner.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSourceDir = CHATBOT_SOURCE_DIR;
const fs::path kBinary = CHATBOT_BINARY;

struct Command {
  int line = 0;  // in the guide
  std::string text;
};

// The commands of the shell blocks (```sh, ```bash, ```console): lines
// joined at a trailing backslash, comments and "$ " prompts removed.
std::vector<Command> ShellCommands(const std::string& markdown) {
  std::vector<Command> commands;
  bool in_shell = false;
  std::string pending;
  int pending_line = 0;
  int number = 0;
  for (const std::string& raw : Lines(markdown)) {
    ++number;
    if (raw.rfind("```", 0) == 0) {
      const std::string language = raw.substr(3);
      in_shell = !in_shell && (language == "sh" || language == "bash" || language == "console");
      pending.clear();
      continue;
    }
    if (!in_shell) continue;
    std::string line = raw;
    if (line.rfind("$ ", 0) == 0) line = line.substr(2);
    const size_t comment = line.find(" #");
    if (line.rfind("#", 0) == 0) continue;
    if (comment != std::string::npos) line = line.substr(0, comment);
    if (pending.empty()) pending_line = number;
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    pending += line;
    if (pending.find_first_not_of(' ') != std::string::npos) {
      commands.push_back({pending_line, pending});
    }
    pending.clear();
  }
  return commands;
}

// Shell-like words: quotes group, and are removed.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool any = false;
  for (char c : text) {
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      any = true;
    } else if (c == ' ' || c == '\t') {
      if (any || !word.empty()) words.push_back(word);
      word.clear();
      any = false;
    } else {
      word += c;
    }
  }
  if (any || !word.empty()) words.push_back(word);
  return words;
}

// A pipeline or list split into simple commands.
std::vector<std::vector<std::string>> SimpleCommands(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> current;
  for (const std::string& w : Words(text)) {
    if (w == "|" || w == "&&" || w == "||" || w == ";") {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current.push_back(w);
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

// `chatbot WORDS... --help`, cached.
const std::string& Help(const std::vector<std::string>& path) {
  static std::map<std::vector<std::string>, std::string> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  ProcessOptions options;
  options.program = kBinary;
  options.args = path;
  options.args.push_back("--help");
  const ProcessResult r = RunProcess(options);
  EXPECT_EQ(r.exit_code, 0) << "chatbot " << ::testing::PrintToString(path) << " --help\n"
                            << Describe(r);
  return cache[path] = r.out + r.err;
}

// The subcommands a help text lists.
std::set<std::string> Subcommands(const std::string& help) {
  std::set<std::string> names;
  // CLI11 heads the list "Subcommands:" (2.3) or "SUBCOMMANDS:" (older).
  size_t at = help.find("Subcommands:");
  if (at == std::string::npos) at = help.find("SUBCOMMANDS:");
  if (at == std::string::npos) return names;
  std::istringstream in(help.substr(at));
  std::string line;
  std::getline(in, line);
  const std::regex entry(R"(^  ([a-z][a-z0-9-]*)\b)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, entry)) names.insert(m[1]);
  }
  return names;
}

bool HelpHasFlag(const std::string& help, const std::string& flag) {
  const std::regex pattern("(^|[\\s,])" + std::regex_replace(flag, std::regex("-"), "\\-") +
                           "([\\s,=]|$)");
  return std::regex_search(help, pattern);
}

class OperationsDocTest : public ::testing::Test {
 protected:
  void SetUp() override { guide_ = ReadFileToString(kSourceDir / "docs/OPERATIONS.md"); }
  std::string guide_;
};

TEST_F(OperationsDocTest, HasTheSectionsOfAnOperationsGuide) {
  for (const char* heading :
       {"## Architecture", "## Configuration", "## Deployment", "## Health checks",
        "## Monitoring and alerts", "## Backup and restore", "## Disaster recovery",
        "## Key management", "## Scaling", "## Troubleshooting", "### High latency",
        "### Memory growth", "### Timeouts", "## Routine tasks", "### Daily", "### Weekly",
        "### Monthly", "## Logs"}) {
    EXPECT_THAT(guide_, HasSubstr("\n" + std::string(heading) + "\n")) << heading;
  }
}

TEST_F(OperationsDocTest, EveryChatbotCommandHasRealSubcommandsAndFlags) {
  int checked = 0;
  std::set<std::string> used;  // subcommand paths, to check coverage below
  for (const Command& command : ShellCommands(guide_)) {
    for (std::vector<std::string> words : SimpleCommands(command.text)) {
      // Leading sudo (-u USER), env assignments and "exec CONTAINER".
      while (!words.empty() && (words[0] == "sudo" || words[0].find('=') != std::string::npos ||
                                words[0] == "-u" || words[0] == "chatbot:chatbot")) {
        if (words[0] == "-u" && words.size() > 1) words.erase(words.begin());
        words.erase(words.begin());
      }
      if (words.size() > 3 && words[0] == "docker" && words[1] == "compose" && words[2] == "exec") {
        words.erase(words.begin(), words.begin() + 4);
      }
      if (words.empty()) continue;
      const std::string program = fs::path(words[0]).filename().string();
      if (program != "chatbot") continue;
      ++checked;
      std::vector<std::string> path;
      std::vector<std::string> helps = {Help({})};
      for (size_t i = 1; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w.rfind("--", 0) == 0) {
          const std::string flag = w.substr(0, w.find('='));
          bool known = false;
          for (const std::string& help : helps) known |= HelpHasFlag(help, flag);
          EXPECT_TRUE(known) << "docs/OPERATIONS.md:" << command.line << ": chatbot "
                             << ::testing::PrintToString(path) << " has no " << flag << "\n"
                             << command.text;
        } else if (w[0] != '-' && Subcommands(helps.back()).count(w)) {
          path.push_back(w);
          helps.push_back(Help(path));
        }
      }
      std::string joined;
      for (const std::string& p : path) joined += (joined.empty() ? "" : " ") + p;
      used.insert(joined);
    }
  }
  EXPECT_GT(checked, 30) << "the guide should show the commands it describes";
  // The operator's commands of issue 6 all appear.
  for (const char* expected :
       {"check-model", "verify-model", "backup", "backup list", "backup verify", "backup prune",
        "restore", "sessions clean", "serve", "keys create", "keys rotate", "keys revoke"}) {
    EXPECT_TRUE(used.count(expected)) << "the guide never shows chatbot " << expected;
  }
}

TEST_F(OperationsDocTest, CurlPathsAreRoutesAndNamedFilesExist) {
  const std::set<std::string> routes = {"/health",      "/ready",          "/metrics",
                                        "/v1/parse",    "/v1/parse/batch", "/v1/chat",
                                        "/v1/sessions", "/v1/model",       "/v1/model/reload"};
  const std::regex url(R"(https?://[a-z0-9.\-]+(:\d+)?(/[A-Za-z0-9/_.\-{}]*))");
  const std::regex repo_file(
      R"(^(deploy|bench|scripts|docs|config|data/domain)/[A-Za-z0-9_./\-]+$)");
  std::set<std::string> units;
  for (const auto& e : fs::directory_iterator(kSourceDir / "deploy/systemd")) {
    units.insert(e.path().filename().string());
  }
  int curls = 0;
  for (const Command& command : ShellCommands(guide_)) {
    for (const std::vector<std::string>& words : SimpleCommands(command.text)) {
      if (words.empty()) continue;
      if (words[0] == "curl") {
        for (const std::string& w : words) {
          std::smatch m;
          if (!std::regex_search(w, m, url)) continue;
          std::string path = m[2];
          path = path.substr(0, path.find('?'));
          ++curls;
          const bool known = routes.count(path) || path.rfind("/v1/sessions/", 0) == 0 ||
                             path.rfind("/v1/admin/", 0) == 0 || path.rfind("/api/v1/", 0) == 0;
          EXPECT_TRUE(known) << "docs/OPERATIONS.md:" << command.line << ": no route " << path;
        }
      }
      if (words[0] == "systemctl" ||
          (words[0] == "sudo" && words.size() > 1 && words[1] == "systemctl")) {
        for (const std::string& w : words) {
          if (w.rfind("chatbot", 0) == 0) {
            const std::string unit = w.find('.') == std::string::npos ? w + ".service" : w;
            EXPECT_TRUE(units.count(unit))
                << "docs/OPERATIONS.md:" << command.line << ": no unit " << unit;
          }
        }
      }
      for (const std::string& w : words) {
        if (std::regex_match(w, repo_file)) {
          EXPECT_TRUE(fs::exists(kSourceDir / w))
              << "docs/OPERATIONS.md:" << command.line << ": no file " << w;
        }
      }
    }
  }
  EXPECT_GE(curls, 3);
  EXPECT_THAT(guide_, HasSubstr("curl http://localhost:8080/health"));
}

}  // namespace
}  // namespace chatbot::testing
