// `chatbot config show|template|reference`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

namespace chatbot::cli {
namespace {

int RunConfigShow(const GlobalOptions& global) {
  const Configuration config = LoadConfiguration(global);
  std::printf("%s", config.Describe().c_str());
  return kExitOk;
}

int RunConfigTemplate() {
  std::printf("%s", Configuration::FileTemplate().c_str());
  return kExitOk;
}

int RunConfigReference() {
  std::printf("%s", Configuration::ReferenceTable().c_str());
  return kExitOk;
}

}  // namespace

void AddConfigCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto* cmd = app.add_subcommand("config", "Inspect the configuration");
  cmd->require_subcommand(1);
  OnParse(cmd->add_subcommand("show", "Print the effective configuration and each value's origin"),
          run, [&global] { return RunConfigShow(global); });
  OnParse(cmd->add_subcommand("template", "Print a configuration file with every default"), run,
          RunConfigTemplate);
  OnParse(cmd->add_subcommand("reference", "Print the settings reference table (Markdown)"), run,
          RunConfigReference);
}

}  // namespace chatbot::cli
