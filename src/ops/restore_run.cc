#include "ops/restore_run.h"

#include <fmt/core.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/logging.h"
#include "db/pg_connection.h"
#include "db/pg_settings.h"
#include "ops/backup.h"
#include "ops/backup_plan.h"
#include "ops/data_lock.h"
#include "ops/model_check.h"
#include "ops/postgres_dump.h"

namespace chatbot::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// How long --stop-server waits for a service to exit (its shutdown_timeout
// is 10 s by default).
constexpr auto kStopTimeout = std::chrono::seconds(60);

// The roles a backup holds (items present), from its manifest; empty when
// unreadable (the restore's own verification then says why).
std::vector<std::string> BackupRoles(const fs::path& dir) {
  std::vector<std::string> roles;
  try {
    boost::system::error_code error;
    const json::value manifest = json::parse(ReadFile(dir / kBackupManifest), error);
    if (error || !manifest.is_object()) return roles;
    const json::value* items = manifest.as_object().if_contains("items");
    if (items == nullptr || !items->is_array()) return roles;
    for (const json::value& item : items->as_array()) {
      const json::object* i = item.if_object();
      if (i == nullptr) continue;
      const json::value* role = i->if_contains("role");
      const json::value* present = i->if_contains("present");
      if (role && role->is_string() && !(present && present->is_bool() && !present->as_bool())) {
        roles.emplace_back(role->as_string());
      }
    }
  } catch (const Error&) {
  }
  return roles;
}

// The exclusive data lock, stopping services first when asked to. nullptr
// with `*refused` set when a service holds it (and --force was not given).
std::unique_ptr<DataLock> LockData(const fs::path& lock_path, const RestoreRunOptions& args,
                                   bool* stopped, std::string* refused) {
  pid_t holder = 0;
  auto lock = DataLock::TryAcquireExclusive(lock_path, &holder);
  if (lock) return lock;
  if (args.stop_server) {
    const auto deadline = Clock::now() + kStopTimeout;
    pid_t signalled = 0;
    while (!lock && Clock::now() < deadline) {
      if (holder > 0 && holder != signalled) {
        args.say(fmt::format("Stopping the service (process {}, SIGTERM)...", holder));
        AppLog()->info("restore: stopping process {} (SIGTERM)", holder);
        if (::kill(holder, SIGTERM) != 0 && errno != ESRCH) {
          *refused = fmt::format("cannot stop process {}: {}", holder, std::strerror(errno));
          return nullptr;
        }
        signalled = holder;
        *stopped = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      lock = DataLock::TryAcquireExclusive(lock_path, &holder);
    }
    if (lock) return lock;
    *refused = fmt::format("the service (process {}) did not stop within {} s", holder,
                           std::chrono::duration_cast<std::chrono::seconds>(kStopTimeout).count());
    return nullptr;
  }
  if (args.force) {
    args.say(fmt::format(
        "WARNING: a service (process {}) is using the data; restoring anyway (--force): restart "
        "it as soon as the restore ends",
        holder));
    AppLog()->warn("restore --force while process {} uses the data", holder);
    return nullptr;
  }
  *refused = fmt::format(
      "a service{} is using the data ({} is locked): stop it first (systemctl stop chatbot), or "
      "pass --stop-server to stop it, or --force to restore under it",
      holder > 0 ? fmt::format(" (process {})", holder) : std::string(), lock_path.string());
  return nullptr;
}

}  // namespace

bool RunRestore(const Configuration& config, const RestoreRunOptions& args) {
  const Clock::time_point start = Clock::now();
  const Settings& settings = config.settings();
  const fs::path dir = ResolveBackup(BackupRoot(settings, args.dest), args.backup);
  const std::vector<std::string> roles = BackupRoles(dir);
  for (const std::string& role : args.only) {
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
      std::string held;
      for (const std::string& r : roles) held += (held.empty() ? "" : ", ") + r;
      throw ConfigError("--only " + role + ": not in backup " + dir.string() + " (it holds " +
                        held + ")");
    }
  }
  const auto selected = [&args](const std::string& role) {
    return args.only.empty() ||
           std::find(args.only.begin(), args.only.end(), role) != args.only.end();
  };

  if (selected(kDatabaseRole) &&
      std::find(roles.begin(), roles.end(), kDatabaseRole) != roles.end() &&
      settings.store.backend != "postgres") {
    args.say("Restore refused: backup " + dir.string() +
             " holds a PostgreSQL database and store.backend is " + settings.store.backend +
             ": set store.backend = postgres and its connection, or restore other parts with "
             "--only");
    return false;
  }

  bool stopped = false;
  std::string refused;
  const fs::path lock_path = DataLock::PathFor(settings.sessions.path);
  const auto lock = LockData(lock_path, args, &stopped, &refused);
  if (!lock && !args.force) {
    args.say("Restore refused: " + refused);
    return false;
  }

  RestoreOptions options;
  options.backup = dir;
  for (RestoreTarget& target : RestoreTargets(config, roles, !args.no_config)) {
    if (selected(target.role)) options.targets.push_back(std::move(target));
  }
  if (selected(kDatabaseRole) && settings.store.backend == "postgres") {
    options.restore_database = [&settings, &args](const json::object& item, const fs::path& dump) {
      const db::PgOptions pg = db::PgOptionsFromSettings(settings);
      std::map<std::string, int64_t> tables;
      if (const json::value* t = item.if_contains("tables"); t && t->is_object()) {
        for (const auto& [table, rows] : t->as_object()) {
          if (rows.is_int64()) tables[std::string(table)] = rows.as_int64();
        }
      }
      RestorePostgresDatabase(pg.url, pg.connect_timeout_ms, dump, args.replace_database, tables);
      int64_t rows = 0;
      for (const auto& [table, count] : tables) rows += count;
      return fmt::format("{} ({} tables, {} rows)", db::DescribeServer(pg.url), tables.size(),
                         rows);
    };
  }
  options.log = [&args](const std::string& line) {
    args.say(line);
    AppLog()->info("restore: {}", line);
  };
  RestoreResult result;
  try {
    result = RestoreBackup(options);
  } catch (const DataError& e) {
    // A damaged backup is a problem found, not a usage error.
    args.say(std::string("Restore refused: ") + e.what());
    AppLog()->error("restore refused: {}", e.what());
    return false;
  }
  for (const std::string& s : result.skipped) args.say("skipped " + s);
  args.say(fmt::format("Restored {} item{} from {} in {:.2f} s.", result.restored.size(),
                       result.restored.size() == 1 ? "" : "s", dir.string(), result.seconds));

  // verify-model on what was restored.
  bool models_ok = true;
  for (const std::string& role : roles) {
    if (!role.starts_with("model/") || !selected(role)) continue;
    const std::string name = role.substr(6);
    const VerifyReport report = VerifyModel(fs::path(settings.paths.models) / name, name);
    const std::vector<std::string> problems = report.Problems();
    args.say(fmt::format("verify-model {}: {} (smoke test {}/{}, held-out accuracy {:.2f}%)", name,
                         problems.empty() ? "OK" : "FAILED",
                         report.smoke_examples - report.smoke_mismatches.size(),
                         report.smoke_examples, report.measured_accuracy * 100));
    for (const std::string& p : problems) args.say("  - " + p);
    if (!problems.empty()) models_ok = false;
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  args.say(fmt::format(
      "Restore and verification took {:.2f} s.{}", total,
      stopped ? " The service was stopped: start it again (systemctl start chatbot)." : ""));
  AppLog()->info("restore of {} finished in {:.2f} s{}", dir.string(), total,
                 models_ok ? "" : "; a restored model failed verification");
  return models_ok;
}

}  // namespace chatbot::ops
