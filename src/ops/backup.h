// Backups of everything the service cannot rebuild: the session and API-key
// databases, the model folders and the configuration file; and their
// restore.
//
// A backup is a folder backups/<UTC time, e.g. 20261129T002747Z>/ holding
// one entry per item (sessions/sessions.db, keys/keys.db, model/svm/...,
// config/chatbot.toml) and a manifest.json:
//   {"format": "chatbot-backup", "format_version": 1, "name", "created_at",
//    "host", "program_version", "seconds",
//    "items": [{"role": "sessions", "kind": "sqlite", "source": "<path>",
//               "path": "sessions/sessions.db", "schema_version": 1,
//               "tables": {"sessions": 100000, "turns": 250000}}, ...,
//              {"role": "model/svm", "kind": "directory", "format", "version"},
//              {"role": "keys", "kind": "sqlite", "present": false}],
//    with store.backend = postgres the sessions and keys are one item instead:
//              {"role": "database", "kind": "postgres", "source": "host:port/db",
//               "path": "database/chatbot.pgdump", "server_version", "snapshot_at",
//               "tables": {"sessions": 100000, "turns": 250000, "api_keys": 3, ...}},
//    "files": {"sessions/sessions.db": {"sha256": "...", "bytes": 123}, ...}}
// It is written as backups/.partial-<name>/ and renamed into place when
// complete, so a backup folder with a manifest is a complete one.
//
// Consistency while the service serves: databases are copied by SQLite's
// online backup API as one snapshot each (sqlite_backup.h); model folders
// are replaced whole by training (renameat2), so a folder copied during a
// retrain is detected by checking the copy against the model's own
// manifest, and copied again. A PostgreSQL database is dumped by pg_dump
// from one exported snapshot (postgres_dump.h).
//
// Restore is all or nothing: it verifies the backup first, copies every
// item beside its target (the same file system, so the final step is a
// rename), checks the copies, and only then swaps them in one by one
// (renameat2 RENAME_EXCHANGE); if a swap fails, those already done are
// swapped back, so a failed restore leaves the current data as it was.
// A PostgreSQL database is restored by the caller's restore_database (with
// pg_restore, in one transaction) after every file is staged and before the
// files are swapped in, so a refused database restore changes nothing.
#ifndef CHATBOT_OPS_BACKUP_H_
#define CHATBOT_OPS_BACKUP_H_

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace chatbot::ops {

inline constexpr const char* kBackupFormat = "chatbot-backup";
inline constexpr int64_t kBackupFormatVersion = 1;
inline constexpr const char* kBackupManifest = "manifest.json";
// The role of the PostgreSQL database (sessions and keys) in a backup.
inline constexpr const char* kDatabaseRole = "database";

enum class BackupItemKind { kSqlite, kDirectory, kFile, kPostgres };

struct BackupItem {
  BackupItem() = default;
  BackupItem(BackupItemKind kind, std::string role, std::filesystem::path source,
             std::string stored)
      : kind(kind), role(std::move(role)), source(std::move(source)), stored(std::move(stored)) {}

  BackupItemKind kind = BackupItemKind::kFile;
  std::string role;              // "sessions", "keys", "model/svm", "config"
  std::filesystem::path source;  // where it lives; a missing one is recorded as absent
  std::string stored;            // relative path inside the backup ("sessions/sessions.db")
  // kPostgres: the libpq connection string (never written to the manifest:
  // it may hold a password) and how long connecting may take.
  std::string connection;
  int connect_timeout_ms = 0;
};

struct BackupOptions {
  std::filesystem::path root;  // the backups folder; created when missing
  std::vector<BackupItem> items;
  std::string program_version;
  std::string name;  // empty: the current UTC time, "20261129T002747Z"
};

struct BackupResult {
  std::string name;
  std::filesystem::path dir;
  size_t files = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  boost::json::object manifest;
};

// Throws IoError, StoreError or ModelError naming the item; nothing is left
// in `root` but a .partial- folder (removed on the way out when possible).
BackupResult CreateBackup(const BackupOptions& options);

struct BackupSummary {
  std::string name;
  std::filesystem::path dir;
  std::string created_at;
  std::string host;
  uint64_t bytes = 0;
  int64_t sessions = -1;  // rows of the sessions table (SQLite or PostgreSQL); -1 when unknown
  std::vector<std::string> roles;
  std::string problem;  // "" for a readable manifest
  boost::json::object manifest;
};

// The backups in `root`, oldest first (by name, which is the UTC time).
// Folders whose manifest is unreadable are listed with a problem.
std::vector<BackupSummary> ListBackups(const std::filesystem::path& root);

// "latest" (the newest backup with a readable manifest), a name in `root`,
// or a path to a backup folder (anything with a '/'). Throws DataError when
// there is no such backup.
std::filesystem::path ResolveBackup(const std::filesystem::path& root, const std::string& which);

struct BackupVerification {
  std::filesystem::path dir;
  size_t files = 0;
  uint64_t bytes = 0;
  std::vector<std::string> problems;  // one sentence each
  boost::json::object manifest;
  bool ok() const { return problems.empty(); }
};

// Every file's size and SHA-256 against the manifest, no file missing or
// unlisted, every database copy a sound SQLite file (quick_check) or a
// pg_dump archive pg_restore reads to its end with the data of every table
// recorded, every model folder consistent with its own manifest. Never throws for a damaged
// backup: the problems say what is wrong.
BackupVerification VerifyBackup(const std::filesystem::path& dir);

// Removes backups beyond the `keep` newest (0: no limit by count) and those
// older than `max_age_seconds` (0: no limit by age), but never `protect`
// nor the newest complete backup; also .partial- folders older than a day.
// Returns the names removed, oldest first.
std::vector<std::string> PruneBackups(const std::filesystem::path& root, int64_t keep,
                                      int64_t max_age_seconds, const std::string& protect);

struct RestoreTarget {
  std::string role;            // as in the manifest
  std::filesystem::path path;  // where it goes now
};

struct RestoreOptions {
  std::filesystem::path backup;  // the backup folder
  std::vector<RestoreTarget> targets;
  // Progress lines ("verified 12 files", "restored sessions -> ...").
  std::function<void(const std::string&)> log;
  // Restores a PostgreSQL item of the backup: its manifest entry and the
  // dump file; returns where it went ("host:port/database"). Unset: such an
  // item is skipped. Throwing stops the restore before any file is swapped in.
  std::function<std::string(const boost::json::object& item, const std::filesystem::path& dump)>
      restore_database;
  // Testing: fail (IoError) after this many items have been swapped in,
  // to exercise the rollback; -1 never.
  int fail_after_swaps = -1;
};

struct RestoreResult {
  std::vector<std::string> restored;  // "sessions -> data/sessions/sessions.db"
  std::vector<std::string> skipped;   // items of the backup without a target, targets not backed up
  double seconds = 0;
};

// Verifies the backup (a damaged one is refused with DataError listing the
// problems), stages and swaps in every item that has a target. The caller
// makes sure no service uses the data (DataLock). Throws DataError, IoError
// or StoreError; on any failure the current data is unchanged.
RestoreResult RestoreBackup(const RestoreOptions& options);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_BACKUP_H_
