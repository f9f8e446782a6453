#include "db/sqlite_database.h"

#include <chrono>
#include <thread>

#include "common/error.h"
#include "common/private_files.h"
#include "db/sqlite_statement.h"

namespace chatbot::db {
namespace {

// WAL; switching needs a lock SQLite does not wait for, so retry briefly
// when another process opens the new database at the same moment.
void UseWal(sqlite3* db, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    try {
      Statement wal(db, path, "set journal_mode", "PRAGMA journal_mode = WAL");
      ResetOnExit reset(wal);
      if (wal.Step() && wal.ColumnText(0) == "wal") return;
      throw StoreError(path + ": set journal_mode: WAL not available");
    } catch (const StoreError&) {
      if ((sqlite3_extended_errcode(db) & 0xff) != SQLITE_BUSY ||
          std::chrono::steady_clock::now() >= deadline) {
        throw;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Migrate(sqlite3* db, const std::string& path, const DatabaseSpec& spec) {
  for (const Migration& migration : spec.migrations) {
    if (QueryInt64(db, path, "read schema version", "PRAGMA user_version") >= migration.version) {
      continue;
    }
    const std::string operation = "migrate schema to version " + std::to_string(migration.version);
    Transaction transaction(db, path, operation);
    // Another process may have migrated meanwhile: decide under the lock.
    const int64_t version = QueryInt64(db, path, "read schema version", "PRAGMA user_version");
    if (version >= migration.version) continue;
    Execute(db, path, operation, migration.sql);
    if (version == 0) {
      Execute(db, path, operation,
              "PRAGMA application_id = " + std::to_string(spec.application_id));
    }
    Execute(db, path, operation, "PRAGMA user_version = " + std::to_string(migration.version));
    transaction.Commit();
  }
}

}  // namespace

Connection OpenDatabase(const std::filesystem::path& path, const DatabaseSpec& spec) {
  const std::string p = path.string();
  try {
    if (path.has_parent_path()) CreatePrivateDirectories(path.parent_path());
    CreatePrivateFile(path);
  } catch (const IoError& e) {
    throw StoreError(p + ": " + e.what());
  }
  if (sqlite3_threadsafe() == 0) {
    throw StoreError(p + ": open: the SQLite library was built without thread support");
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(p.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          (spec.connection_mutex ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX),
                      nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) ThrowSqliteError(db.get(), rc, p, "open");
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), spec.busy_timeout_ms);

  const int64_t schema_version = spec.migrations.empty() ? 0 : spec.migrations.back().version;
  int64_t version = QueryInt64(db.get(), p, "read schema version", "PRAGMA user_version");
  int64_t application_id = QueryInt64(db.get(), p, "read application id", "PRAGMA application_id");
  const std::string not_ours = p + ": not a chatbot " + spec.kind + " database";
  if (version == 0 && application_id != spec.application_id &&
      QueryInt64(db.get(), p, "read schema", "SELECT count(*) FROM sqlite_schema") != 0) {
    // Tables without a version: another program's database, or ours being
    // created by another process between the reads above. Its creator
    // commits the tables and the version together, so reading again tells.
    version = QueryInt64(db.get(), p, "read schema version", "PRAGMA user_version");
    application_id = QueryInt64(db.get(), p, "read application id", "PRAGMA application_id");
    if (version == 0 && application_id != spec.application_id) {
      throw StoreError(not_ours + " (it has tables but no schema version)");
    }
  }
  if (application_id != 0 && application_id != spec.application_id) {
    throw StoreError(not_ours + " (application_id " + std::to_string(application_id) + ")");
  }
  if (version > schema_version) {
    throw StoreError(p + ": " + spec.kind + " database schema version " + std::to_string(version) +
                     " is newer than this program's (" + std::to_string(schema_version) +
                     "); run a newer chatbot or restore an older database");
  }
  if (version == 0 && spec.incremental_vacuum) {
    Execute(db.get(), p, "set auto_vacuum", "PRAGMA auto_vacuum = INCREMENTAL");
  }
  UseWal(db.get(), p);
  Execute(db.get(), p, "set synchronous", "PRAGMA synchronous = " + spec.synchronous);
  if (spec.foreign_keys) Execute(db.get(), p, "enable foreign keys", "PRAGMA foreign_keys = ON");
  Migrate(db.get(), p, spec);
  return db;
}

}  // namespace chatbot::db
