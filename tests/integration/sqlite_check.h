// Reads a SQLite database the way the tests that kill or starve the service
// check it: PRAGMA integrity_check and plain queries, over a read-write
// connection so that a WAL left by a killed writer is recovered first, as
// the service's next start would.
#ifndef CHATBOT_TESTS_INTEGRATION_SQLITE_CHECK_H_
#define CHATBOT_TESTS_INTEGRATION_SQLITE_CHECK_H_

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace chatbot::testing {

class SqliteCheck {
 public:
  explicit SqliteCheck(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      const std::string error = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw std::runtime_error(path.string() + ": " + error);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~SqliteCheck() { sqlite3_close(db_); }
  SqliteCheck(const SqliteCheck&) = delete;
  SqliteCheck& operator=(const SqliteCheck&) = delete;

  // The rows of a query, each column as text; `text` is bound to the first
  // parameter when the query has one.
  std::vector<std::vector<std::string>> Query(const std::string& sql,
                                              const std::string& text = "") {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    if (sqlite3_bind_parameter_count(stmt) > 0) {
      sqlite3_bind_text(stmt, 1, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    std::vector<std::vector<std::string>> rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* value = sqlite3_column_text(stmt, i);
        row.emplace_back(value != nullptr ? reinterpret_cast<const char*>(value) : "");
      }
    }
    const std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
    return rows;
  }

  // "ok", or what PRAGMA integrity_check found.
  std::string Integrity() {
    std::string found;
    for (const auto& row : Query("PRAGMA integrity_check"))
      found += (found.empty() ? "" : "; ") + row[0];
    return found;
  }

 private:
  sqlite3* db_ = nullptr;
};

inline std::string SqliteIntegrity(const std::filesystem::path& path) {
  return SqliteCheck(path).Integrity();
}

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_SQLITE_CHECK_H_
