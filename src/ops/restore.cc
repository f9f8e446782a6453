// RestoreBackup (backup.h): stages every item of a verified backup next to
// its target, then swaps them in with renames, undoing the swaps when one
// fails.
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "ops/backup.h"
#include "ops/backup_files.h"
#include "ops/sqlite_backup.h"

namespace chatbot::ops {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// One item being restored.
struct Staged {
  std::string role;
  std::string kind;    // "sqlite", "directory", "file"
  std::string stored;  // its path inside the backup
  fs::path target;
  fs::path staged;  // the new copy; after the swap, the old data
  bool target_existed = false;
  bool swapped = false;
  std::vector<std::string> moved_side_files;  // "-wal", "-shm" moved with the old database
};

void Rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw IoError("cannot rename " + from.string() + " to " + to.string() + ": " + Errno());
  }
}

void Exchange(const fs::path& a, const fs::path& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    throw IoError("cannot swap " + a.string() + " and " + b.string() + ": " + Errno());
  }
}

void SwapIn(Staged* s) {
  std::error_code error;
  if (s->kind == "sqlite") {
    // The old database's WAL and shared memory must not meet the new one:
    // they go with the old file.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      const fs::path side = s->target.string() + suffix;
      if (fs::exists(side, error)) {
        Rename(side, s->staged.string() + suffix);
        s->moved_side_files.push_back(suffix);
      }
    }
  }
  if (s->target_existed) {
    Exchange(s->staged, s->target);
  } else {
    Rename(s->staged, s->target);
  }
  s->swapped = true;
}

// Undoes SwapIn; best effort (it runs while handling another failure).
void SwapBack(Staged* s) {
  if (s->swapped) {
    if (s->target_existed) {
      ::renameat2(AT_FDCWD, s->staged.c_str(), AT_FDCWD, s->target.c_str(), RENAME_EXCHANGE);
    } else {
      ::rename(s->target.c_str(), s->staged.c_str());
    }
    s->swapped = false;
  }
  for (const std::string& suffix : s->moved_side_files) {
    ::rename((s->staged.string() + suffix).c_str(), (s->target.string() + suffix).c_str());
  }
  s->moved_side_files.clear();
}

void RemoveStaged(const Staged& s) {
  RemoveQuietly(s.staged);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    RemoveQuietly(s.staged.string() + suffix);
  }
}

}  // namespace

RestoreResult RestoreBackup(const RestoreOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const BackupVerification verification = VerifyBackup(options.backup);
  if (!verification.ok()) {
    std::string message = "backup " + options.backup.string() + " is damaged; nothing restored:";
    for (const std::string& p : verification.problems) message += "\n  " + p;
    throw DataError(message);
  }
  log(fmt::format("verified backup {}: {} files, {} bytes", options.backup.string(),
                  verification.files, verification.bytes));
  const json::object& manifest = verification.manifest;
  const json::object& files = manifest.at("files").as_object();

  RestoreResult result;
  std::map<std::string, const RestoreTarget*> targets;
  for (const RestoreTarget& t : options.targets) targets[t.role] = &t;
  std::vector<Staged> plan;
  std::vector<const json::object*> databases;  // PostgreSQL items
  std::set<std::string> backed_up;
  for (const json::value& item_value : manifest.at("items").as_array()) {
    const json::object* item = item_value.if_object();
    if (item == nullptr) continue;
    const std::string role = StringField(*item, "role");
    const json::value* present = item->if_contains("present");
    if (present && present->is_bool() && !present->as_bool()) continue;
    backed_up.insert(role);
    if (StringField(*item, "kind") == "postgres") {
      if (options.restore_database) {
        databases.push_back(item);
      } else {
        result.skipped.push_back(role + ": a PostgreSQL database, not restored here");
      }
      continue;
    }
    const auto target = targets.find(role);
    if (target == targets.end()) {
      result.skipped.push_back(role + ": no place for it in this configuration");
      continue;
    }
    Staged s;
    s.role = role;
    s.kind = StringField(*item, "kind");
    s.stored = StringField(*item, "path");
    s.target = target->second->path;
    const fs::path parent = s.target.parent_path().empty() ? fs::path(".") : s.target.parent_path();
    s.staged = parent / ("." + s.target.filename().string() + ".restore-" + RandomSuffix());
    plan.push_back(std::move(s));
    std::error_code error;
    plan.back().target_existed = fs::exists(plan.back().target, error);
  }
  for (const RestoreTarget& t : options.targets) {
    if (!backed_up.count(t.role)) {
      result.skipped.push_back(t.role + ": not in the backup; " + t.path.string() + " left as is");
    }
  }

  // 1. Copies beside the targets, checked against the manifest.
  try {
    for (Staged& s : plan) {
      const std::string& stored = s.stored;
      std::error_code error;
      fs::create_directories(s.staged.parent_path(), error);
      if (error) {
        throw IoError("cannot create " + s.staged.parent_path().string() + ": " + error.message());
      }
      std::map<std::string, FileDigest> copied;  // relative to the backup folder
      if (s.kind == "directory") {
        std::map<std::string, FileDigest> tree;
        CopyTreeHashed(options.backup / stored, s.staged, &tree);
        for (auto& [relative, digest] : tree) copied[stored + "/" + relative] = std::move(digest);
      } else {
        copied[stored] = CopyFileHashed(options.backup / stored, s.staged);
      }
      for (const auto& [relative, digest] : copied) {
        const json::object* expected =
            files.contains(relative) ? files.at(relative).if_object() : nullptr;
        if (expected == nullptr || StringField(*expected, "sha256") != digest.sha256) {
          throw DataError("restore " + s.role + ": the copy of " + relative +
                          " does not match the backup's manifest");
        }
      }
      log(fmt::format("staged {} ({} files)", s.role, copied.size()));
    }
    for (const json::object* item : databases) {
      const std::string role = StringField(*item, "role");
      const std::string where =
          options.restore_database(*item, options.backup / StringField(*item, "path"));
      result.restored.push_back(role + " -> " + where);
      log("restored " + role + " -> " + where);
    }
  } catch (...) {
    for (const Staged& s : plan) RemoveStaged(s);
    throw;
  }

  // 2. Swap them in; on any failure swap back what was done.
  size_t swaps = 0;
  try {
    for (Staged& s : plan) {
      if (s.kind == "sqlite" && s.target_existed) {
        try {
          SettleSqliteDatabase(s.target);
        } catch (const Error& e) {
          log(
              fmt::format("note: the current {} could not be checkpointed ({}); its WAL is "
                          "discarded with it",
                          s.role, e.what()));
        }
      }
      SwapIn(&s);
      ++swaps;
      if (options.fail_after_swaps >= 0 && swaps == static_cast<size_t>(options.fail_after_swaps)) {
        throw IoError("restore: failure injected after " + std::to_string(swaps) + " swaps");
      }
    }
  } catch (...) {
    for (auto it = plan.rbegin(); it != plan.rend(); ++it) SwapBack(&*it);
    for (const Staged& s : plan) RemoveStaged(s);
    throw;
  }

  // 3. The old data (now at the staged paths) goes.
  std::set<fs::path> parents;
  for (const Staged& s : plan) {
    RemoveStaged(s);
    parents.insert(s.target.parent_path().empty() ? fs::path(".") : s.target.parent_path());
    result.restored.push_back(s.role + " -> " + s.target.string());
    log("restored " + s.role + " -> " + s.target.string());
  }
  for (const fs::path& parent : parents) SyncDirectory(parent);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace chatbot::ops
