// Consistent copies of live SQLite databases (the sessions and the API
// keys), for backups.
//
// Copying the .db file is not enough while a service writes to it: recent
// commits are still in the -wal file, and a copy taken mid-checkpoint is
// torn. SQLite's online backup API copies the pages as one read
// transaction, i.e. one consistent snapshot; in WAL mode a reader never
// blocks the writers (the service keeps committing turns to the WAL while
// the copy runs), so all pages are copied in a single step: a step-wise copy
// would restart from scratch every time the service commits in between.
//
// The copy is then switched to journal_mode=DELETE so that it is one
// self-contained file (the service turns WAL back on when it opens a
// restored database).
#ifndef CHATBOT_OPS_SQLITE_BACKUP_H_
#define CHATBOT_OPS_SQLITE_BACKUP_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace chatbot::ops {

struct SqliteDatabaseInfo {
  int64_t user_version = 0;  // the schema version (PRAGMA user_version)
  int64_t application_id = 0;
  int64_t page_count = 0;
  int64_t page_size = 0;
  std::map<std::string, int64_t> table_rows;  // every table's row count
};

// Copies the database at `source` into the new file `destination` (which
// must not exist), fsyncs it and returns what the copy holds. Throws
// StoreError naming the file and SQLite's message.
SqliteDatabaseInfo BackupSqliteDatabase(const std::filesystem::path& source,
                                        const std::filesystem::path& destination);

// Opens `path` read-only and immutable (no -wal or -shm is read or created:
// for copies at rest), runs PRAGMA quick_check when `check` and returns what
// it holds. Throws StoreError when it is not a sound SQLite database.
SqliteDatabaseInfo InspectSqliteDatabase(const std::filesystem::path& path, bool check);

// Checkpoints and removes the -wal of a database that no process is using
// (a service that crashed leaves one behind), so that the .db file alone
// holds everything. Throws StoreError.
void SettleSqliteDatabase(const std::filesystem::path& path);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_SQLITE_BACKUP_H_
