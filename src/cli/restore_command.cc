// `chatbot restore --backup latest|NAME|PATH`: parse, run the restore
// (ops/restore_run.h), print its report as it goes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "ops/restore_run.h"

namespace chatbot::cli {
namespace {

int RunRestore(const GlobalOptions& global, const ops::RestoreRunOptions& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  ops::RestoreRunOptions options = args;
  options.say = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  return ops::RunRestore(config, options) ? kExitOk : kExitFailure;
}

}  // namespace

void AddRestoreCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<ops::RestoreRunOptions>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Restore a backup (verified first, all or nothing), then verify the restored models; "
      "refuses while a service uses the data");
  cmd->add_option("--backup", args->backup, "latest, a backup NAME or a backup folder")->required();
  cmd->add_option("--dest", args->dest,
                  "The backups folder NAME is looked up in (default: backup.dir)");
  cmd->add_flag("--stop-server", args->stop_server,
                "Stop the service using the data (SIGTERM) and wait for it first");
  cmd->add_flag("--force", args->force,
                "Restore even while a service uses the data (restart it at once)");
  cmd->add_flag("--no-config", args->no_config, "Leave the configuration file as it is");
  cmd->add_flag("--replace-database", args->replace_database,
                "store.backend = postgres: restore into a database that already holds "
                "tables, dropping and recreating the backup's tables there");
  cmd->add_option("--only", args->only,
                  "Restore only this item: sessions, keys, admin_key, config or "
                  "model/NAME (repeatable)");
  OnParse(cmd, run, [&global, args] { return RunRestore(global, *args); });
}

}  // namespace chatbot::cli
