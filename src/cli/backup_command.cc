// `chatbot backup [--dest DIR] [--keep N] [--max-age D]` and `backup list`,
// `backup verify [NAME|latest]`, `backup prune`: consistent snapshots of the
// sessions, keys, models and configuration while the service keeps serving
// (ops/backup.h, ops/backup_plan.h, ops/backup_report.h).

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/strings.h"
#include "ops/backup.h"
#include "ops/backup_plan.h"
#include "ops/backup_report.h"

namespace chatbot::cli {
namespace {

struct BackupArgs {
  std::string dest;              // the backups folder; empty: backup.dir
  int64_t keep = -1;             // -1: backup.keep
  std::string max_age;           // "30d"; empty: backup.max_age_days
  std::string which = "latest";  // verify: NAME, latest or a path
  bool json = false;             // list
};

namespace fs = std::filesystem;
namespace json = boost::json;

// Retention from the flags, else from [backup].
ops::BackupRetention Retention(const Settings& settings, const BackupArgs& args) {
  return ops::RetentionFor(settings, args.keep,
                           args.max_age.empty()
                               ? std::nullopt
                               : std::optional<int64_t>(DurationFlag("--max-age", args.max_age)));
}

int RunBackupCreate(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const ops::BackupRetention retention = Retention(config.settings(), args);
  StartLogging(config);
  const auto [result, removed] = ops::RunBackup(
      config, ops::BackupRoot(config.settings(), args.dest), retention, CHATBOT_VERSION);
  std::fputs(ops::BackupWrittenText(result, removed).c_str(), stdout);
  return kExitOk;
}

int RunBackupList(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const fs::path root = ops::BackupRoot(config.settings(), args.dest);
  const std::vector<ops::BackupSummary> backups = ops::ListBackups(root);
  if (args.json) {
    for (const ops::BackupSummary& b : backups) {
      std::printf("%s\n", json::serialize(ops::BackupSummaryJson(b)).c_str());
    }
    return kExitOk;
  }
  if (backups.empty()) {
    std::printf("No backups in %s.\n", root.c_str());
    return kExitOk;
  }
  std::fputs(ops::BackupTable(backups).c_str(), stdout);
  return kExitOk;
}

int RunBackupVerify(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const fs::path dir =
      ops::ResolveBackup(ops::BackupRoot(config.settings(), args.dest), args.which);
  const ops::BackupVerification v = ops::VerifyBackup(dir);
  std::fputs(ops::VerificationText(dir, v).c_str(), stdout);
  return v.ok() ? kExitOk : kExitFailure;
}

int RunBackupPrune(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const ops::BackupRetention retention = Retention(config.settings(), args);
  if (!retention.any()) {
    throw UsageError(
        "backup prune: give --keep N or --max-age DURATION, or set backup.keep or "
        "backup.max_age_days");
  }
  StartLogging(config);
  const std::vector<std::string> removed =
      ops::PruneBackupsBy(ops::BackupRoot(config.settings(), args.dest), retention);
  std::printf("Removed %zu backup%s%s%s\n", removed.size(), removed.size() == 1 ? "" : "s",
              removed.empty() ? "." : ": ", JoinNames(removed).c_str());
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto backup = std::make_shared<BackupArgs>();
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Back up the sessions, API keys, models and configuration into backups/<UTC time>/ while "
      "the service keeps serving; or list, verify and prune backups");
  backup_cmd->require_subcommand(0, 1);
  const auto add_dest = [backup](CLI::App* cmd) {
    cmd->add_option("--dest", backup->dest, "The backups folder (default: backup.dir)");
  };
  const auto add_retention = [backup](CLI::App* cmd) {
    cmd->add_option("--keep", backup->keep, "Keep this many newest backups (default: backup.keep)")
        ->check(CLI::Range(int64_t{1}, int64_t{100000}));
    cmd->add_option("--max-age", backup->max_age,
                    "Remove backups older than this, e.g. 30d, never the newest (default: "
                    "backup.max_age_days)");
  };
  add_dest(backup_cmd);
  add_retention(backup_cmd);
  auto* list_cmd = backup_cmd->add_subcommand("list", "List the backups, oldest first");
  add_dest(list_cmd);
  list_cmd->add_flag("--json", backup->json, "One JSON object per line");
  OnParse(list_cmd, run, [&global, backup] { return RunBackupList(global, *backup); });
  auto* verify_cmd = backup_cmd->add_subcommand(
      "verify", "Check a backup's files against its manifest (exit 0 sound, 1 damaged)");
  verify_cmd->add_option("backup", backup->which, "NAME, latest or a backup folder")
      ->capture_default_str();
  add_dest(verify_cmd);
  OnParse(verify_cmd, run, [&global, backup] { return RunBackupVerify(global, *backup); });
  auto* prune_cmd =
      backup_cmd->add_subcommand("prune", "Remove old backups by count and age (never the newest)");
  add_dest(prune_cmd);
  add_retention(prune_cmd);
  OnParse(prune_cmd, run, [&global, backup] { return RunBackupPrune(global, *backup); });
  backup_cmd->callback([run, &global, backup, backup_cmd] {
    if (backup_cmd->get_subcommands().empty()) {
      *run = [&global, backup] { return RunBackupCreate(global, *backup); };
    }
  });
}

}  // namespace chatbot::cli
