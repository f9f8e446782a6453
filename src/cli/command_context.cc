#include "cli/command_context.h"

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

void StartLogging(const Configuration& config) {
  InitLogging(config.settings().logging, config.settings().paths.logs);
}

}  // namespace chatbot::cli
