// Thin RAII helpers over the SQLite C API, private to src/store: a prepared
// statement that is created once and reused, and the translation of every
// SQLite failure into a StoreError that names the database file, the
// operation and SQLite's own message, so that the person reading the log
// knows which file to look at and what was being done.
//
// Not thread-safe: the owner serialises access (SqliteSessionStore holds a
// mutex around its one connection).
#ifndef CHATBOT_STORE_SQLITE_STATEMENT_H_
#define CHATBOT_STORE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace chatbot::store::internal {

// Throws StoreError "DB_PATH: OPERATION: sqlite message". `db` may be null
// (a failed open), in which case the message comes from the result code.
[[noreturn]] void ThrowSqliteError(sqlite3* db, int rc, const std::string& db_path,
                                   std::string_view operation);

// Runs SQL without results (pragmas, DDL, transaction control); throws
// StoreError naming `operation`.
void Execute(sqlite3* db, const std::string& db_path, std::string_view operation,
             const std::string& sql);

// A prepared statement. Parameters are 1-based like SQLite's; text is bound
// without copying, so the bound strings must outlive the next Reset().
class Statement {
 public:
  // Prepares `sql` (SQLITE_PREPARE_PERSISTENT: it lives as long as the
  // connection). `db_path` must outlive the statement.
  Statement(sqlite3* db, const std::string& db_path, std::string_view operation,
            std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindText(int index, std::string_view text);
  void BindInt64(int index, int64_t value);
  void BindDouble(int index, double value);

  // True when a row is available, false when the statement is done.
  bool Step();
  // Steps to completion; for statements that return no rows.
  void Run();

  int64_t ColumnInt64(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;  // NULL reads as ""

  // Resets and clears the bindings. A statement left mid-step keeps its read
  // snapshot open (which stops WAL checkpoints) and keeps pointers to the
  // caller's strings, so every use ends here; see ResetOnExit.
  void Reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& db_path_;
  std::string operation_;
};

// Resets a statement when the scope ends, whether it ends normally or by an
// exception.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

}  // namespace chatbot::store::internal

#endif  // CHATBOT_STORE_SQLITE_STATEMENT_H_
