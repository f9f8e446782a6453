// Opening an SQLite database of ours: the connection settings every store
// uses (extended result codes, a busy timeout, WAL, the synchronous level),
// the checks that it is ours (PRAGMA application_id) and not newer than the
// program (PRAGMA user_version), and the schema brought up to date by
// numbered migrations, each in its own transaction.
#ifndef CHATBOT_DB_SQLITE_DATABASE_H_
#define CHATBOT_DB_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace chatbot::db {

// Brings the schema from version - 1 to `version`.
struct Migration {
  int64_t version;
  std::string sql;
};

struct DatabaseSpec {
  std::string kind;  // what it holds, for messages: "not a chatbot keys database"
  int64_t application_id = 0;
  // In ascending order of version; the last one's is the schema version.
  std::vector<Migration> migrations;
  std::string synchronous = "NORMAL";  // PRAGMA synchronous
  int busy_timeout_ms = 5000;
  // False: the caller serialises every use of the connection with a lock of
  // its own, so SQLite's per-connection mutex (SQLITE_OPEN_NOMUTEX) is left
  // out.
  bool connection_mutex = true;
  // PRAGMA auto_vacuum = INCREMENTAL when the database is created (it cannot
  // be switched on after the first table without a full VACUUM), so that
  // freed pages can be given back cheaply.
  bool incremental_vacuum = false;
  // PRAGMA foreign_keys = ON (per connection; without it ON DELETE CASCADE
  // is ignored).
  bool foreign_keys = false;
};

struct CloseConnection {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, CloseConnection>;

// Opens or creates `path` and migrates it. Every database holds what is
// nobody else's business (conversations, key hashes): a missing directory is
// created 0700 and a missing file 0600, whatever the umask (SQLite gives the
// -wal and -shm files the database's mode). Throws StoreError naming the file
// when it cannot be created or opened, is another program's database, or has
// a newer schema than `spec` knows.
Connection OpenDatabase(const std::filesystem::path& path, const DatabaseSpec& spec);

}  // namespace chatbot::db

#endif  // CHATBOT_DB_SQLITE_DATABASE_H_
