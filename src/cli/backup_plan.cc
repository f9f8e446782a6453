#include "cli/backup_plan.h"

#include "ops/model_check.h"

namespace chatbot::cli {
namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultConfigFile = "config/chatbot.toml";

std::string FileName(const std::string& path, const char* fallback) {
  const std::string name = fs::path(path).filename().string();
  return name.empty() ? fallback : name;
}

}  // namespace

std::vector<ops::BackupItem> BackupItems(const Configuration& config) {
  const Settings& s = config.settings();
  std::vector<ops::BackupItem> items = {
      {ops::BackupItemKind::kSqlite, "sessions", s.sessions.path,
       "sessions/" + FileName(s.sessions.path, "sessions.db")},
      {ops::BackupItemKind::kSqlite, "keys", s.security.database,
       "keys/" + FileName(s.security.database, "keys.db")},
      {ops::BackupItemKind::kFile, "admin_key", s.security.admin_key_file,
       "keys/" + FileName(s.security.admin_key_file, "admin.key")},
  };
  for (const std::string& name : ops::ModelNames(s.paths.models)) {
    items.push_back({ops::BackupItemKind::kDirectory, "model/" + name,
                     fs::path(s.paths.models) / name, "model/" + name});
  }
  if (config.file()) {
    items.push_back({ops::BackupItemKind::kFile, "config", *config.file(),
                     "config/" + FileName(config.file()->string(), "chatbot.toml")});
  } else {
    // Recorded as absent: the service ran on the embedded defaults.
    items.push_back({ops::BackupItemKind::kFile, "config", "", "config/chatbot.toml"});
  }
  return items;
}

std::vector<ops::RestoreTarget> RestoreTargets(const Configuration& config,
                                               const std::vector<std::string>& roles,
                                               bool with_config) {
  const Settings& s = config.settings();
  std::vector<ops::RestoreTarget> targets = {
      {"sessions", s.sessions.path},
      {"keys", s.security.database},
      {"admin_key", s.security.admin_key_file},
  };
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

fs::path BackupRoot(const Settings& settings, const std::string& dest) {
  return dest.empty() ? fs::path(settings.backup.dir) : fs::path(dest);
}

}  // namespace chatbot::cli
