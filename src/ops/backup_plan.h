// What a backup holds and where a restore puts it, from the configuration:
//   role        kind       from                          stored as
//   sessions    sqlite     sessions.path                 sessions/<file>
//   keys        sqlite     security.database             keys/<file>
//   database    postgres   store.postgres_url(_file)     database/chatbot.pgdump
//                          (instead of sessions and keys with store.backend = postgres)
//   admin_key   file       security.admin_key_file       keys/<file>
//   model/NAME  directory  paths.models/NAME             model/NAME
//   config      file       the configuration file read   config/<file>
// and the run of a backup with its retention.
// A restore puts each role where the *current* configuration says, so a
// backup taken on one machine restores onto another laid out differently.
#ifndef CHATBOT_OPS_BACKUP_PLAN_H_
#define CHATBOT_OPS_BACKUP_PLAN_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "ops/backup.h"

namespace chatbot::ops {

// The items of a backup made now.
std::vector<BackupItem> BackupItems(const Configuration& config);

// Where each role of a backup goes; `roles` are those the backup holds
// (model folders are named by them). The configuration file goes to the
// one in use, or to config/chatbot.toml when none is.
std::vector<RestoreTarget> RestoreTargets(const Configuration& config,
                                          const std::vector<std::string>& roles, bool with_config);

// How many backups to keep, and for how long (0: no limit).
struct BackupRetention {
  int64_t keep = 0;
  int64_t max_age_seconds = 0;
  bool any() const { return keep > 0 || max_age_seconds > 0; }
};
// The retention asked for: `keep` (< 0: backup.keep) and `max_age_ms`
// (none: backup.max_age_days).
BackupRetention RetentionFor(const Settings& settings, int64_t keep,
                             std::optional<int64_t> max_age_ms);

// A backup made now into `root`, and the older ones retention removed.
struct BackupRun {
  BackupResult result;
  std::vector<std::string> removed;
};
// Backs up BackupItems(config) at a lower CPU priority (the service keeps
// the CPU; the copy is bounded by the disk anyway), then removes the
// backups beyond `retention`; logs both. Throws as CreateBackup.
BackupRun RunBackup(const Configuration& config, const std::filesystem::path& root,
                    const BackupRetention& retention, const std::string& program_version);

// `backup prune`: removes the backups in `root` beyond `retention` (never
// the newest) and logs what it removed.
std::vector<std::string> PruneBackupsBy(const std::filesystem::path& root,
                                        const BackupRetention& retention);

// The backups folder: `dest` when given, else backup.dir.
std::filesystem::path BackupRoot(const Settings& settings, const std::string& dest);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_BACKUP_PLAN_H_
