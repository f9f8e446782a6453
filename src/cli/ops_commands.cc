// Wires the operator's subcommands (ops_commands.h) to CLI11.
#include "cli/ops_commands.h"

#include <CLI/CLI.hpp>

namespace chatbot::cli {

void AddOpsCommands(CLI::App& app, const GlobalOptions& global, OpsArgs* args,
                    std::function<int()>* run) {
  CheckModelArgs& check = args->check_model;
  auto* check_cmd = app.add_subcommand(
      "check-model",
      "Which models are present and loadable: versions, sizes, labels, held-out metrics and a "
      "latency sample; or, with --url, the same of a running service (exit 0 healthy, 1 not)");
  check_cmd->add_option("--url", check.url,
                        "Check the service at this URL (http://HOST:PORT) instead of the model "
                        "folders");
  check_cmd->add_option("--api-key", check.api_key,
                        "With --url: the API key to send (Authorization: Bearer)");
  check_cmd->add_option("--model", check.model, "Only this model folder (svm, bert, ...)");
  check_cmd
      ->add_option("--samples", check.samples,
                   "Predictions timed (default 200); with --url, requests (default 10)")
      ->check(CLI::Range(0, 100000));
  check_cmd->add_flag("--json", check.json, "Print the report as JSON");
  OnParse(check_cmd, run, [&global, &check] { return RunCheckModel(global, check); });

  VerifyModelArgs& verify = args->verify_model;
  auto* verify_cmd = app.add_subcommand(
      "verify-model",
      "Prove that each model is the one trained: checksums against the manifest, load, smoke "
      "test of the stored examples, held-out accuracy not below the recorded one (exit 0 "
      "verified, 1 any difference)");
  verify_cmd->add_option("--model", verify.model, "Only this model folder (svm, bert, ...)");
  verify_cmd->add_flag("--json", verify.json, "Print the report as JSON");
  OnParse(verify_cmd, run, [&global, &verify] { return RunVerifyModel(global, verify); });

  BackupArgs& backup = args->backup;
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Back up the sessions, API keys, models and configuration into backups/<UTC time>/ while "
      "the service keeps serving; or list, verify and prune backups");
  backup_cmd->require_subcommand(0, 1);
  const auto add_dest = [&backup](CLI::App* cmd) {
    cmd->add_option("--dest", backup.dest, "The backups folder (default: backup.dir)");
  };
  const auto add_retention = [&backup](CLI::App* cmd) {
    cmd->add_option("--keep", backup.keep, "Keep this many newest backups (default: backup.keep)")
        ->check(CLI::Range(int64_t{1}, int64_t{100000}));
    cmd->add_option("--max-age", backup.max_age,
                    "Remove backups older than this, e.g. 30d, never the newest (default: "
                    "backup.max_age_days)");
  };
  add_dest(backup_cmd);
  add_retention(backup_cmd);
  auto* list_cmd = backup_cmd->add_subcommand("list", "List the backups, oldest first");
  add_dest(list_cmd);
  list_cmd->add_flag("--json", backup.json, "One JSON object per line");
  OnParse(list_cmd, run, [&global, &backup] { return RunBackupList(global, backup); });
  auto* verify_backup_cmd = backup_cmd->add_subcommand(
      "verify", "Check a backup's files against its manifest (exit 0 sound, 1 damaged)");
  verify_backup_cmd->add_option("backup", backup.which, "NAME, latest or a backup folder")
      ->capture_default_str();
  add_dest(verify_backup_cmd);
  OnParse(verify_backup_cmd, run, [&global, &backup] { return RunBackupVerify(global, backup); });
  auto* prune_cmd =
      backup_cmd->add_subcommand("prune", "Remove old backups by count and age (never the newest)");
  add_dest(prune_cmd);
  add_retention(prune_cmd);
  OnParse(prune_cmd, run, [&global, &backup] { return RunBackupPrune(global, backup); });
  backup_cmd->callback([run, &global, &backup, backup_cmd] {
    if (backup_cmd->get_subcommands().empty()) {
      *run = [&global, &backup] { return RunBackupCreate(global, backup); };
    }
  });

  RestoreArgs& restore = args->restore;
  auto* restore_cmd = app.add_subcommand(
      "restore",
      "Restore a backup (verified first, all or nothing), then verify the restored models; "
      "refuses while a service uses the data");
  restore_cmd->add_option("--backup", restore.backup, "latest, a backup NAME or a backup folder")
      ->required();
  restore_cmd->add_option("--dest", restore.dest,
                          "The backups folder NAME is looked up in (default: backup.dir)");
  restore_cmd->add_flag("--stop-server", restore.stop_server,
                        "Stop the service using the data (SIGTERM) and wait for it first");
  restore_cmd->add_flag("--force", restore.force,
                        "Restore even while a service uses the data (restart it at once)");
  restore_cmd->add_flag("--no-config", restore.no_config, "Leave the configuration file as it is");
  restore_cmd->add_flag("--replace-database", restore.replace_database,
                        "store.backend = postgres: restore into a database that already holds "
                        "tables, dropping and recreating the backup's tables there");
  restore_cmd->add_option("--only", restore.only,
                          "Restore only this item: sessions, keys, admin_key, config or "
                          "model/NAME (repeatable)");
  OnParse(restore_cmd, run, [&global, &restore] { return RunRestore(global, restore); });
}

}  // namespace chatbot::cli
