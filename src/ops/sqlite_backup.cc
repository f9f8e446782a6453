#include "ops/sqlite_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "ops/backup_files.h"

namespace chatbot::ops {
namespace fs = std::filesystem;

namespace {

// Closes the connection when the scope ends.
class Connection {
 public:
  Connection(const fs::path& path, const std::string& uri_or_path, int flags) : path_(path) {
    const int rc = sqlite3_open_v2(uri_or_path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError(path.string() + ": open: " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_extended_result_codes(db_, 1);
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }

  [[noreturn]] void Fail(std::string_view operation) const {
    throw StoreError(path_.string() + ": " + std::string(operation) + ": " + sqlite3_errmsg(db_));
  }

  void Execute(std::string_view operation, const std::string& sql) const {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreError(path_.string() + ": " + std::string(operation) + ": " + message);
    }
  }

  // The rows of a query, every column as text.
  std::vector<std::vector<std::string>> Query(std::string_view operation,
                                              const std::string& sql) const {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) Fail(operation);
    std::vector<std::vector<std::string>> rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) Fail(operation);
    return rows;
  }

  int64_t QueryInt(std::string_view operation, const std::string& sql) const {
    const auto rows = Query(operation, sql);
    if (rows.empty() || rows[0].empty()) {
      throw StoreError(path_.string() + ": " + std::string(operation) + ": no result");
    }
    return std::stoll(rows[0][0]);
  }

 private:
  fs::path path_;
  sqlite3* db_ = nullptr;
};

SqliteDatabaseInfo Describe(const Connection& db) {
  SqliteDatabaseInfo info;
  info.user_version = db.QueryInt("read user_version", "PRAGMA user_version");
  info.application_id = db.QueryInt("read application_id", "PRAGMA application_id");
  info.page_count = db.QueryInt("read page_count", "PRAGMA page_count");
  info.page_size = db.QueryInt("read page_size", "PRAGMA page_size");
  for (const auto& row :
       db.Query("list tables",
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                "'sqlite_%' ORDER BY name")) {
    info.table_rows[row[0]] =
        db.QueryInt("count rows", "SELECT count(*) FROM " + QuoteIdentifier(row[0]));
  }
  return info;
}

void SyncFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw IoError("cannot fsync " + path.string() + ": " + reason);
  }
  ::close(fd);
}

// "file:/abs/path?immutable=1" with the path percent-encoded where needed.
std::string ImmutableUri(const fs::path& path) {
  const std::string absolute = fs::absolute(path).string();
  std::string uri = "file:";
  for (unsigned char c : absolute) {
    if (c == '?' || c == '#' || c == '%' || c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

SqliteDatabaseInfo BackupSqliteDatabase(const fs::path& source, const fs::path& destination) {
  std::error_code error;
  if (!fs::is_regular_file(source, error)) {
    throw StoreError(source.string() + ": backup: no such database");
  }
  if (fs::exists(destination, error)) {
    throw StoreError(destination.string() + ": backup: the destination exists");
  }
  // Read-write without CREATE: a read-only connection could not recover a
  // hot WAL; nothing is written to the source.
  Connection from(source, source.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  SqliteDatabaseInfo info;
  {
    Connection to(destination, destination.string(),
                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    // The copy is written once and fsync'ed at the end; a crash meanwhile
    // leaves an incomplete backup folder, never a damaged source.
    to.Execute("set synchronous", "PRAGMA synchronous = OFF");
    sqlite3_backup* backup = sqlite3_backup_init(to.get(), "main", from.get(), "main");
    if (backup == nullptr) to.Fail("backup");
    int rc;
    // All pages in one step, one snapshot (see the header); retried while
    // the source is briefly locked (a checkpoint's exclusive moment).
    for (int attempt = 0;; ++attempt) {
      rc = sqlite3_backup_step(backup, -1);
      if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt < 500) {
        sqlite3_sleep(10);
        continue;
      }
      break;
    }
    const int finish = sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      throw StoreError(source.string() + ": backup: " + sqlite3_errstr(rc));
    }
    if (finish != SQLITE_OK) to.Fail("backup");
    to.Query("set journal_mode", "PRAGMA journal_mode = DELETE");
    info = Describe(to);
  }
  SyncFile(destination);
  return info;
}

SqliteDatabaseInfo InspectSqliteDatabase(const fs::path& path, bool check) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) throw StoreError(path.string() + ": no such database");
  Connection db(path, ImmutableUri(path),
                SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX);
  if (check) {
    const auto rows = db.Query("quick_check", "PRAGMA quick_check");
    if (rows.empty() || rows[0].empty() || rows[0][0] != "ok") {
      throw StoreError(path.string() + ": quick_check: " +
                       (rows.empty() || rows[0].empty() ? "no result" : rows[0][0]));
    }
  }
  return Describe(db);
}

void SettleSqliteDatabase(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path.string() + "-wal", error)) return;
  Connection db(path, path.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  db.Query("checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)");
  // Closing the last connection removes the (now empty) -wal.
}

}  // namespace chatbot::ops
