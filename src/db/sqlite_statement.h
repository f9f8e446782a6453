// Thin RAII helpers over the SQLite C API, for every SQLite user (the
// session store, the key store): a prepared statement, a write transaction,
// and the translation of every SQLite failure into a StoreError that names
// the database file, the operation and SQLite's own message, so that the
// person reading the log knows which file to look at and what was being
// done. Opening a database and migrating its schema: sqlite_database.h.
//
// Not thread-safe: the owner serialises access (each store holds a mutex
// around its one connection).
#ifndef CHATBOT_DB_SQLITE_STATEMENT_H_
#define CHATBOT_DB_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace chatbot::db {

// Throws StoreError "DB_PATH: OPERATION: sqlite message". `db` may be null
// (a failed open), in which case the message comes from the result code.
[[noreturn]] void ThrowSqliteError(sqlite3* db, int rc, const std::string& db_path,
                                   std::string_view operation);

// Runs SQL without results (pragmas, DDL, transaction control); throws
// StoreError naming `operation`.
void Execute(sqlite3* db, const std::string& db_path, std::string_view operation,
             const std::string& sql);

// The first column of the first row of `sql` (a count, a pragma); throws
// StoreError when there is no row.
int64_t QueryInt64(sqlite3* db, const std::string& db_path, std::string_view operation,
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
  // Copies the text: for temporaries, and statements used once.
  void BindTextCopy(int index, std::string_view text);
  void BindInt64(int index, int64_t value);
  void BindDouble(int index, double value);
  void BindBlob(int index, std::span<const uint8_t> bytes);  // copied
  void BindNull(int index);
  // NULL when empty.
  void BindOptionalInt64(int index, const std::optional<int64_t>& value);
  void BindOptionalDouble(int index, const std::optional<double>& value);

  // Binds `values` to ?1, ?2, ... in order: text (not copied, as BindText;
  // a temporary string does not compile), integers, doubles and bools (0 or
  // 1). One call instead of one per parameter.
  template <typename... Values>
  void BindAll(Values&&... values) {
    int index = 0;
    (BindOne(++index, std::forward<Values>(values)), ...);
  }

  // True when a row is available, false when the statement is done.
  bool Step();
  // Steps to completion; for statements that return no rows.
  void Run();

  int64_t ColumnInt64(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;  // NULL reads as ""
  bool ColumnIsNull(int column) const;
  std::span<const uint8_t> ColumnBlob(int column) const;  // valid until the next Step

  // Resets and clears the bindings. A statement left mid-step keeps its read
  // snapshot open (which stops WAL checkpoints) and keeps pointers to the
  // caller's strings, so every use ends here; see ResetOnExit.
  void Reset();

 private:
  void BindOne(int index, const std::string& text) { BindText(index, text); }
  void BindOne(int index, std::string&& text) = delete;  // would dangle
  void BindOne(int index, int64_t value) { BindInt64(index, value); }
  void BindOne(int index, double value) { BindDouble(index, value); }
  void BindOne(int index, bool value) { BindInt64(index, value ? 1 : 0); }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& db_path_;
  std::string operation_;
};

// BEGIN IMMEDIATE (the write lock now, so that a read-then-write never
// fails halfway on a busy database); rolled back unless committed.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& db_path, std::string_view operation);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  sqlite3* db_;
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

}  // namespace chatbot::db

#endif  // CHATBOT_DB_SQLITE_STATEMENT_H_
