// What every subcommand shares: the global options, the configuration they
// produce, and logging. The nlu options built from the settings are in
// nlu/settings_options.h.
#ifndef CHATBOT_CLI_COMMAND_CONTEXT_H_
#define CHATBOT_CLI_COMMAND_CONTEXT_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "nlu/settings_options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chatbot::cli {

// Exit statuses, for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem
inline constexpr int kExitUsage = 2;    // bad arguments, configuration or data

struct GlobalOptions {
  std::string config_file;        // --config
  std::vector<std::string> sets;  // --set section.key=value
  std::string models;             // --models DIR
  std::string log_level;          // --log-level
};

// Loads the configuration with the flags applied (dedicated flags become
// `--set` overrides, so `config show` reports them as flags). Throws
// ConfigError.
Configuration LoadConfiguration(const GlobalOptions& options);

// Arguments that parse but do not fit (a malformed duration, a missing
// choice): RunCommandLine prints "chatbot: WHAT" and exits kExitUsage.
class UsageError : public Error {
 public:
  using Error::Error;
};

// The duration given to `flag` ("30d") in milliseconds. Throws UsageError
// naming the flag.
int64_t DurationFlag(const char* flag, const std::string& text);

// Makes parsing `command` set `*run` to `body` (run after the parse).
void OnParse(CLI::App* command, std::function<int()>* run, std::function<int()> body);

// Starts the app/training/api loggers as configured.
void StartLogging(const Configuration& config);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_COMMAND_CONTEXT_H_
