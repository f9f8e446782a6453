// `chatbot backup [--dest DIR] [--keep N] [--max-age D]` and `backup list`,
// `backup verify [NAME|latest]`, `backup prune`: consistent snapshots of the
// sessions, keys, models and configuration while the service keeps serving
// (ops/backup.h, cli/backup_plan.h).
#include <fmt/core.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/backup_plan.h"
#include "cli/ops_commands.h"
#include "common/duration.h"
#include "common/error.h"
#include "common/logging.h"
#include "ops/backup.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Retention from the flags, else from [backup]. Returns false (after
// printing why) for a malformed --max-age.
bool Retention(const Settings& settings, const BackupArgs& args, int64_t* keep,
               int64_t* max_age_seconds) {
  *keep = args.keep >= 0 ? args.keep : settings.backup.keep;
  *max_age_seconds = settings.backup.max_age_days * 86400;
  if (!args.max_age.empty()) {
    std::string error;
    const std::optional<int64_t> ms = ParseDurationMs(args.max_age, false, &error);
    if (!ms) {
      std::fprintf(stderr, "chatbot: --max-age: %s\n", error.c_str());
      return false;
    }
    *max_age_seconds = *ms / 1000;
  }
  return true;
}

std::string Text(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

uint64_t Unsigned(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

// One line per item of a backup manifest.
void PrintItems(const json::object& manifest) {
  const json::value* items = manifest.if_contains("items");
  if (items == nullptr || !items->is_array()) return;
  for (const json::value& v : items->as_array()) {
    if (!v.is_object()) continue;
    const json::object& item = v.as_object();
    const std::string role = Text(item, "role");
    const json::value* present = item.if_contains("present");
    if (present && present->is_bool() && !present->as_bool()) {
      std::printf("  %-12s not present\n", role.c_str());
      continue;
    }
    std::string detail;
    if (const json::value* tables = item.if_contains("tables"); tables && tables->is_object()) {
      std::vector<std::string> counts;
      for (const auto& [table, rows] : tables->as_object()) {
        counts.push_back(fmt::format("{} {}", json::serialize(rows), std::string(table)));
      }
      detail = Join(counts);
    }
    if (const json::value* version = item.if_contains("version");
        version && version->is_string() && !version->as_string().empty()) {
      detail = "version " + std::string(version->as_string());
    }
    std::printf("  %-12s %s, %s%s%s\n", role.c_str(), Text(item, "source").c_str(),
                HumanBytes(Unsigned(item.if_contains("bytes"))).c_str(), detail.empty() ? "" : ": ",
                detail.c_str());
  }
}

}  // namespace

int RunBackupCreate(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  int64_t keep = 0;
  int64_t max_age = 0;
  if (!Retention(settings, args, &keep, &max_age)) return kExitUsage;
  StartLogging(config);
  // The service keeps the CPU: the copy runs at a lower priority (it is
  // bounded by the disk anyway).
  ::setpriority(PRIO_PROCESS, 0, 10);

  ops::BackupOptions options;
  options.root = BackupRoot(settings, args.dest);
  options.items = BackupItems(config);
  options.program_version = CHATBOT_VERSION;
  const ops::BackupResult result = ops::CreateBackup(options);
  std::printf("Backup %s written to %s in %.2f s: %zu files, %s\n", result.name.c_str(),
              result.dir.c_str(), result.seconds, result.files, HumanBytes(result.bytes).c_str());
  PrintItems(result.manifest);
  AppLog()->info("backup {} written to {} in {:.2f} s: {} files, {} bytes", result.name,
                 result.dir.string(), result.seconds, result.files, result.bytes);
  if (keep > 0 || max_age > 0) {
    const std::vector<std::string> removed =
        ops::PruneBackups(options.root, keep, max_age, result.name);
    if (!removed.empty()) {
      std::printf("Removed %zu old backup%s: %s\n", removed.size(), removed.size() == 1 ? "" : "s",
                  Join(removed).c_str());
      AppLog()->info("backup retention removed {}", Join(removed));
    }
  }
  return kExitOk;
}

int RunBackupList(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const fs::path root = BackupRoot(config.settings(), args.dest);
  const std::vector<ops::BackupSummary> backups = ops::ListBackups(root);
  if (args.json) {
    for (const ops::BackupSummary& b : backups) {
      json::object line{{"name", b.name},
                        {"path", b.dir.string()},
                        {"created_at", b.created_at},
                        {"host", b.host},
                        {"bytes", b.bytes},
                        {"sessions", b.sessions},
                        {"contents", json::array(b.roles.begin(), b.roles.end())}};
      if (!b.problem.empty()) line["problem"] = b.problem;
      std::printf("%s\n", json::serialize(line).c_str());
    }
    return kExitOk;
  }
  if (backups.empty()) {
    std::printf("No backups in %s.\n", root.c_str());
    return kExitOk;
  }
  std::printf("%-18s  %-20s  %10s  %9s  %s\n", "NAME", "CREATED", "SIZE", "SESSIONS", "CONTENTS");
  for (const ops::BackupSummary& b : backups) {
    if (!b.problem.empty()) {
      std::printf("%-18s  %s\n", b.name.c_str(), ("UNREADABLE: " + b.problem).c_str());
      continue;
    }
    std::printf("%-18s  %-20s  %10s  %9s  %s\n", b.name.c_str(), b.created_at.c_str(),
                HumanBytes(b.bytes).c_str(),
                b.sessions >= 0 ? std::to_string(b.sessions).c_str() : "-", Join(b.roles).c_str());
  }
  return kExitOk;
}

int RunBackupVerify(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const fs::path dir = ops::ResolveBackup(BackupRoot(config.settings(), args.dest), args.which);
  const ops::BackupVerification v = ops::VerifyBackup(dir);
  if (v.ok()) {
    std::printf("Backup %s: OK (%zu files, %s, checksums as in the manifest)\n", dir.c_str(),
                v.files, HumanBytes(v.bytes).c_str());
    PrintItems(v.manifest);
    return kExitOk;
  }
  std::printf("Backup %s: DAMAGED (%zu problem%s)\n", dir.c_str(), v.problems.size(),
              v.problems.size() == 1 ? "" : "s");
  for (const std::string& p : v.problems) std::printf("  - %s\n", p.c_str());
  return kExitFailure;
}

int RunBackupPrune(const GlobalOptions& global, const BackupArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  int64_t keep = 0;
  int64_t max_age = 0;
  if (!Retention(settings, args, &keep, &max_age)) return kExitUsage;
  if (keep <= 0 && max_age <= 0) {
    std::fprintf(stderr,
                 "chatbot: backup prune: give --keep N or --max-age DURATION, or set "
                 "backup.keep or backup.max_age_days\n");
    return kExitUsage;
  }
  StartLogging(config);
  const std::vector<std::string> removed =
      ops::PruneBackups(BackupRoot(settings, args.dest), keep, max_age, "");
  std::printf("Removed %zu backup%s%s%s\n", removed.size(), removed.size() == 1 ? "" : "s",
              removed.empty() ? "." : ": ", Join(removed).c_str());
  if (!removed.empty()) AppLog()->info("backup prune removed {}", Join(removed));
  return kExitOk;
}

}  // namespace chatbot::cli
