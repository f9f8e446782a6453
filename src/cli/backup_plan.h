// What a backup holds and where a restore puts it, from the configuration:
//   role        kind       from                          stored as
//   sessions    sqlite     sessions.path                 sessions/<file>
//   keys        sqlite     security.database             keys/<file>
//   admin_key   file       security.admin_key_file       keys/<file>
//   model/NAME  directory  paths.models/NAME             model/NAME
//   config      file       the configuration file read   config/<file>
// A restore puts each role where the *current* configuration says, so a
// backup taken on one machine restores onto another laid out differently.
#ifndef CHATBOT_CLI_BACKUP_PLAN_H_
#define CHATBOT_CLI_BACKUP_PLAN_H_

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"
#include "ops/backup.h"

namespace chatbot::cli {

// The items of a backup made now.
std::vector<ops::BackupItem> BackupItems(const Configuration& config);

// Where each role of a backup goes; `roles` are those the backup holds
// (model folders are named by them). The configuration file goes to the
// one in use, or to config/chatbot.toml when none is.
std::vector<ops::RestoreTarget> RestoreTargets(const Configuration& config,
                                               const std::vector<std::string>& roles,
                                               bool with_config);

// The backups folder: `dest` when given, else backup.dir.
std::filesystem::path BackupRoot(const Settings& settings, const std::string& dest);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_BACKUP_PLAN_H_
