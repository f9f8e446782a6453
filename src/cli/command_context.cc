#include "cli/command_context.h"

#include <CLI/CLI.hpp>
#include <optional>

#include "common/duration.h"
#include "common/logging.h"

namespace chatbot::cli {

Configuration LoadConfiguration(const GlobalOptions& options) {
  Configuration::Sources sources;
  if (!options.config_file.empty()) sources.file = options.config_file;
  sources.flags = options.sets;
  if (!options.models.empty()) sources.flags.push_back("paths.models=" + options.models);
  if (!options.log_level.empty()) sources.flags.push_back("logging.level=" + options.log_level);
  return Configuration::Load(sources);
}

int64_t DurationFlag(const char* flag, const std::string& text) {
  std::string error;
  const std::optional<int64_t> ms = ParseDurationMs(text, false, &error);
  if (!ms) throw UsageError(std::string(flag) + ": " + error);
  return *ms;
}

void OnParse(CLI::App* command, std::function<int()>* run, std::function<int()> body) {
  command->callback([run, body = std::move(body)] { *run = body; });
}

void StartLogging(const Configuration& config) {
  InitLogging(config.settings().logging, config.settings().paths.logs);
}

}  // namespace chatbot::cli
