// The backends the store contract tests run against (one parameterised
// suite per interface, INSTANTIATE_TEST_SUITE_P over kAllBackends): SQLite
// in a temporary directory, and PostgreSQL in a fresh database of the test
// binary's one throwaway server (postgres_server.h). Each factory opens a
// store on the same data every time it is called in one test, so a test can
// reopen it or open a second store beside the first.
#ifndef CHATBOT_TESTS_UNIT_STORE_BACKENDS_H_
#define CHATBOT_TESTS_UNIT_STORE_BACKENDS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ci_skip.h"
#include "db/pg_pool.h"
#include "ops/postgres_notice_store.h"
#include "ops/sqlite_notice_store.h"
#include "postgres_server.h"
#include "security/postgres_key_store.h"
#include "security/sqlite_key_store.h"
#include "store/postgres_session_store.h"
#include "store/sqlite_session_store.h"
#include "temp_dir.h"

namespace chatbot::test_support {

enum class Backend { kSqlite, kPostgres };

inline constexpr Backend kAllBackends[] = {Backend::kSqlite, Backend::kPostgres};

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// Where one test's data lives. Prepare() returns false (with the reason)
// when the backend is not available here, for CHATBOT_SKIP.
class StoreLocation {
 public:
  explicit StoreLocation(Backend backend) : backend_(backend) {}

  bool Prepare(std::string* why_not) {
    if (backend_ == Backend::kSqlite) return true;
    testing::PostgresServer* server = testing::SharedPostgresServer(why_not);
    if (server == nullptr) return false;
    url_ = server->CreateDatabase();
    return true;
  }

  db::PgOptions PgOptions() const {
    return {.url = url_, .pool_size = 8, .connect_timeout_ms = 2000};
  }

  std::unique_ptr<store::SessionStore> OpenSessions() const {
    if (backend_ == Backend::kPostgres) {
      return std::make_unique<store::PostgresSessionStore>(PgOptions());
    }
    return store::SqliteSessionStore::Open(dir_.path() / "sessions.db", false);
  }

  std::unique_ptr<security::KeyStore> OpenKeys() const {
    if (backend_ == Backend::kPostgres) {
      return std::make_unique<security::PostgresKeyStore>(PgOptions());
    }
    return std::make_unique<security::SqliteKeyStore>(dir_.path() / "keys.db");
  }

  std::unique_ptr<ops::NoticeStore> OpenNotices() const {
    if (backend_ == Backend::kPostgres) {
      return std::make_unique<ops::PostgresNoticeStore>(PgOptions());
    }
    return std::make_unique<ops::SqliteNoticeStore>(dir_.path() / "notice.db");
  }

  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }

 private:
  Backend backend_;
  TempDir dir_{"chatbot-store"};
  std::string url_;
};

}  // namespace chatbot::test_support

// In a fixture's SetUp: skips the test (fails it under CI=true) when the
// location's backend is not available.
#define CHATBOT_PREPARE_STORE_OR_SKIP(location) \
  do {                                          \
    std::string why_not_;                       \
    if (!(location).Prepare(&why_not_)) {       \
      CHATBOT_SKIP(why_not_);                   \
    }                                           \
  } while (false)

#endif  // CHATBOT_TESTS_UNIT_STORE_BACKENDS_H_
