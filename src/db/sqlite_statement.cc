#include "db/sqlite_statement.h"

#include "common/error.h"

namespace chatbot::db {

void ThrowSqliteError(sqlite3* db, int rc, const std::string& db_path, std::string_view operation) {
  // sqlite3_errmsg describes the connection's last failure, which is more
  // specific than the result code ("no such table: x" rather than "SQL
  // logic error"); it is only meaningful while the connection has one.
  const char* message =
      db != nullptr && sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_FULL) {
    throw StoreFull(db_path + ": " + std::string(operation) + ": " + message);
  }
  throw StoreError(db_path + ": " + std::string(operation) + ": " + message);
}

void Execute(sqlite3* db, const std::string& db_path, std::string_view operation,
             const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return;
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  if ((rc & 0xff) == SQLITE_FULL)
    throw StoreFull(db_path + ": " + std::string(operation) + ": " + text);
  throw StoreError(db_path + ": " + std::string(operation) + ": " + text);
}

Statement::Statement(sqlite3* db, const std::string& db_path, std::string_view operation,
                     std::string_view sql)
    : db_(db), db_path_(db_path), operation_(operation) {
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, "prepare " + operation_);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::BindText(int index, std::string_view text) {
  // SQLITE_STATIC: no copy; Reset() clears the binding before the caller's
  // string can go away.
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::BindTextCopy(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::BindBlob(int index, std::span<const uint8_t> bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::BindOptionalInt64(int index, const std::optional<int64_t>& value) {
  value ? BindInt64(index, *value) : BindNull(index);
}

void Statement::BindOptionalDouble(int index, const std::optional<double>& value) {
  value ? BindDouble(index, *value) : BindNull(index);
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::span<const uint8_t> Statement::ColumnBlob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  return {data, data == nullptr ? 0 : static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

int64_t QueryInt64(sqlite3* db, const std::string& db_path, std::string_view operation,
                   const std::string& sql) {
  Statement statement(db, db_path, operation, sql);
  ResetOnExit reset(statement);
  if (!statement.Step()) {
    throw StoreError(db_path + ": " + std::string(operation) + ": no result");
  }
  return statement.ColumnInt64(0);
}

Transaction::Transaction(sqlite3* db, const std::string& db_path, std::string_view operation)
    : db_(db), db_path_(db_path), operation_(operation) {
  Execute(db_, db_path_, operation_, "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::Commit() {
  Execute(db_, db_path_, operation_, "COMMIT");
}

void Statement::BindInt64(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::BindDouble(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, db_path_, operation_);
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  ThrowSqliteError(db_, rc, db_path_, operation_);
}

void Statement::Run() {
  while (Step()) {
  }
}

int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

void Statement::Reset() {
  // sqlite3_reset repeats the last step's error, which was already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

}  // namespace chatbot::db
