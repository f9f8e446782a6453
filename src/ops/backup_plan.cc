#include "ops/backup_plan.h"

#include <sys/resource.h>

#include "common/logging.h"
#include "common/strings.h"
#include "db/pg_settings.h"
#include "ops/model_check.h"

namespace chatbot::ops {
namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultConfigFile = "config/chatbot.toml";

std::string FileName(const std::string& path, const char* fallback) {
  const std::string name = fs::path(path).filename().string();
  return name.empty() ? fallback : name;
}

}  // namespace

std::vector<BackupItem> BackupItems(const Configuration& config) {
  const Settings& s = config.settings();
  std::vector<BackupItem> items;
  if (s.store.backend == "postgres") {
    // The sessions and the keys both live in the one database.
    const db::PgOptions pg = db::PgOptionsFromSettings(s);
    BackupItem database =
        BackupItem(BackupItemKind::kPostgres, kDatabaseRole, "", "database/chatbot.pgdump");
    database.connection = pg.url;
    database.connect_timeout_ms = pg.connect_timeout_ms;
    items.push_back(std::move(database));
  } else {
    items.push_back(BackupItem(BackupItemKind::kSqlite, "sessions", s.sessions.path,
                               "sessions/" + FileName(s.sessions.path, "sessions.db")));
    items.push_back(BackupItem(BackupItemKind::kSqlite, "keys", s.security.database,
                               "keys/" + FileName(s.security.database, "keys.db")));
  }
  items.push_back(BackupItem(BackupItemKind::kFile, "admin_key", s.security.admin_key_file,
                             "keys/" + FileName(s.security.admin_key_file, "admin.key")));
  for (const std::string& name : ModelNames(s.paths.models)) {
    items.push_back(BackupItem(BackupItemKind::kDirectory, "model/" + name,
                               fs::path(s.paths.models) / name, "model/" + name));
  }
  if (config.file()) {
    items.push_back(BackupItem(BackupItemKind::kFile, "config", *config.file(),
                               "config/" + FileName(config.file()->string(), "chatbot.toml")));
  } else {
    // Recorded as absent: the service ran on the embedded defaults.
    items.push_back(BackupItem(BackupItemKind::kFile, "config", "", "config/chatbot.toml"));
  }
  return items;
}

std::vector<RestoreTarget> RestoreTargets(const Configuration& config,
                                          const std::vector<std::string>& roles, bool with_config) {
  const Settings& s = config.settings();
  std::vector<RestoreTarget> targets;
  // With PostgreSQL the sessions and keys are the database's (restore_run.h).
  if (s.store.backend != "postgres") {
    targets.push_back({"sessions", s.sessions.path});
    targets.push_back({"keys", s.security.database});
  }
  targets.push_back({"admin_key", s.security.admin_key_file});
  for (const std::string& role : roles) {
    if (role.starts_with("model/") && role.size() > 6 && role.find('/', 6) == std::string::npos &&
        role.find("..") == std::string::npos) {
      targets.push_back({role, fs::path(s.paths.models) / role.substr(6)});
    }
  }
  if (with_config) {
    targets.push_back({"config", config.file() ? *config.file() : fs::path(kDefaultConfigFile)});
  }
  return targets;
}

BackupRetention RetentionFor(const Settings& settings, int64_t keep,
                             std::optional<int64_t> max_age_ms) {
  BackupRetention retention;
  retention.keep = keep >= 0 ? keep : settings.backup.keep;
  retention.max_age_seconds =
      max_age_ms ? *max_age_ms / 1000 : settings.backup.max_age_days * 86400;
  return retention;
}

BackupRun RunBackup(const Configuration& config, const fs::path& root,
                    const BackupRetention& retention, const std::string& program_version) {
  ::setpriority(PRIO_PROCESS, 0, 10);
  BackupOptions options;
  options.root = root;
  options.items = BackupItems(config);
  options.program_version = program_version;
  BackupRun run;
  run.result = CreateBackup(options);
  const BackupResult& r = run.result;
  AppLog()->info("backup {} written to {} in {:.2f} s: {} files, {} bytes", r.name, r.dir.string(),
                 r.seconds, r.files, r.bytes);
  if (retention.any()) {
    run.removed = PruneBackups(root, retention.keep, retention.max_age_seconds, r.name);
    if (!run.removed.empty()) AppLog()->info("backup retention removed {}", JoinNames(run.removed));
  }
  return run;
}

std::vector<std::string> PruneBackupsBy(const fs::path& root, const BackupRetention& retention) {
  const std::vector<std::string> removed =
      PruneBackups(root, retention.keep, retention.max_age_seconds, "");
  if (!removed.empty()) AppLog()->info("backup prune removed {}", JoinNames(removed));
  return removed;
}

fs::path BackupRoot(const Settings& settings, const std::string& dest) {
  return dest.empty() ? fs::path(settings.backup.dir) : fs::path(dest);
}

}  // namespace chatbot::ops
