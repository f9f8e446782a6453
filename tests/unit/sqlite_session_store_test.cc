// SqliteSessionStore beyond the SessionStore contract (which
// session_store_contract_test.cc checks on every backend): the schema and
// pragmas it sets up, atomicity under an injected failure, refusal of files
// that are not its own, vacuum, export and crash safety. Every test works in its own temporary
// directory. Where a test needs to look behind the interface (integrity check, cascade, injected
// failures) it opens the database with its own raw SQLite connection.
#include "store/sqlite_session_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "sample_turns.h"
#include "temp_dir.h"

namespace chatbot::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test_support::TempDir;

// A second, raw connection to the database, for checks behind the interface.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      throw std::runtime_error(std::string("open: ") + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : "?";
      sqlite3_free(message);
      throw std::runtime_error(sql + ": " + text);
    }
  }
  // The first column of the first row, as text ("" when no row).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    std::string result;
    if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    return result;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteSessionStoreTest : public ::testing::Test {
 protected:
  SqliteSessionStoreTest() : db_path_(dir_.path() / "sub" / "dir" / "sessions.db") {
    store_ = SqliteSessionStore::Open(db_path_, /*full_sync=*/false);
  }

  TempDir dir_;
  fs::path db_path_;
  std::unique_ptr<SqliteSessionStore> store_;
};

TEST_F(SqliteSessionStoreTest, OpenCreatesDirectoryAndSchema) {
  EXPECT_TRUE(fs::exists(db_path_));
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(SqliteSessionStore::kSchemaVersion));
  EXPECT_EQ(raw.Query("PRAGMA application_id"), std::to_string(SqliteSessionStore::kApplicationId));
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Query("PRAGMA auto_vacuum"), "2");  // incremental
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_schema WHERE name IN ('sessions', 'turns', "
                      "'sessions_by_created', 'sessions_by_updated')"),
            "4");
}

// A failure after the turn is inserted (injected with a trigger on the
// session update) must roll the turn back too: the turn and the state change
// together or not at all. The error names the file, the operation and
// SQLite's message.
TEST_F(SqliteSessionStoreTest, TurnAndStateChangeTogetherOrNotAtAll) {
  store_->CreateSession("s1", 1);
  store_->AppendTurn("s1", MakeTurn(1), State(1));
  {
    RawDb raw(db_path_);
    raw.Exec(
        "CREATE TRIGGER fail_update BEFORE UPDATE ON sessions WHEN NEW.dialogue_state = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  try {
    store_->AppendTurn("s1", MakeTurn(2), "boom");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(db_path_.string()));
    EXPECT_THAT(e.what(), HasSubstr("append turn: update session"));
    EXPECT_THAT(e.what(), HasSubstr("injected failure"));
  }
  const std::optional<Session> session = store_->GetSession("s1", true);
  EXPECT_EQ(session->summary.turn_count, 1);
  EXPECT_EQ(session->dialogue_state, State(1));
  EXPECT_EQ(session->turns.size(), 1u);
  // Turn 2 can still be appended with another state.
  store_->AppendTurn("s1", MakeTurn(2), State(2));
  EXPECT_EQ(store_->GetSession("s1", true)->turns.size(), 2u);
}

TEST_F(SqliteSessionStoreTest, HealthFailsWithAReasonWhenTheTableIsGone) {
  {
    RawDb raw(db_path_);
    raw.Exec("PRAGMA foreign_keys = OFF; DROP TABLE turns; DROP TABLE sessions");
  }
  std::string reason;
  EXPECT_FALSE(store_->CheckHealth(&reason));
  EXPECT_THAT(reason, HasSubstr(db_path_.string()));
  EXPECT_THAT(reason, HasSubstr("no such table"));
}

TEST_F(SqliteSessionStoreTest, VacuumGivesSpaceBack) {
  // About 7 MiB: more free pages than one step of Vacuum() gives back.
  const std::string big(6000, 'x');
  for (int i = 0; i < 600; ++i) {
    const std::string id = "s" + std::to_string(i);
    store_->CreateSession(id, 1);
    store_->AppendTurn(id, MakeTurn(1, big), big);
  }
  store_.reset();  // checkpoint: the data is now in the database file
  const uintmax_t full = fs::file_size(db_path_);
  store_ = SqliteSessionStore::Open(db_path_, false);
  EXPECT_EQ(store_->DeleteSessionsUpdatedBefore(INT64_MAX), 600);
  EXPECT_GT(std::stoll(RawDb(db_path_).Query("PRAGMA freelist_count")), 2048);
  store_->Vacuum();
  const uintmax_t after = fs::file_size(db_path_);
  EXPECT_LT(after, full / 10) << "full " << full << ", after vacuum " << after;
  EXPECT_EQ(fs::file_size(db_path_.string() + "-wal"), 0u);  // truncated by the checkpoint
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Query("PRAGMA freelist_count"), "0");
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST(SqliteSessionStoreOpenTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.db";
  SqliteSessionStore::Open(path, false)->CreateSession("s1", 1);
  RawDb(path).Exec("PRAGMA user_version = " +
                   std::to_string(SqliteSessionStore::kSchemaVersion + 1));
  try {
    SqliteSessionStore::Open(path, false);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
    EXPECT_THAT(e.what(), HasSubstr("schema version 4 is newer"));
  }
}

// Version 1 databases (before owners) are upgraded in place; their sessions
// keep everything and have no owner.
TEST(SqliteSessionStoreOpenTest, VersionOneIsUpgradedWithOwners) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.db";
  RawDb(path).Exec(
      "PRAGMA auto_vacuum = INCREMENTAL;"
      "CREATE TABLE sessions(id TEXT PRIMARY KEY NOT NULL, created_at_ms INTEGER NOT NULL,"
      " updated_at_ms INTEGER NOT NULL, turn_count INTEGER NOT NULL DEFAULT 0,"
      " dialogue_state TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX sessions_by_created ON sessions(created_at_ms, id);"
      "CREATE INDEX sessions_by_updated ON sessions(updated_at_ms);"
      "CREATE TABLE turns(session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
      " number INTEGER NOT NULL, user_text TEXT NOT NULL, intent TEXT NOT NULL,"
      " confidence REAL NOT NULL, out_of_scope INTEGER NOT NULL, reply TEXT NOT NULL,"
      " model TEXT NOT NULL, model_version TEXT NOT NULL, received_at_ms INTEGER NOT NULL,"
      " replied_at_ms INTEGER NOT NULL, PRIMARY KEY(session_id, number)) WITHOUT ROWID;"
      "INSERT INTO sessions VALUES('old', 5, 6, 0, '');"
      "PRAGMA application_id = 1128809044; PRAGMA user_version = 1;");
  auto store = SqliteSessionStore::Open(path, false);
  EXPECT_EQ(RawDb(path).Query("PRAGMA user_version"), "3");
  const std::optional<Session> old = store->GetSession("old", false);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->summary.created_at_ms, 5);
  EXPECT_EQ(old->summary.owner, "");
  store->CreateSession("mine", 10, "key:0123456789abcdef");
  store->CreateSession("theirs", 11, "anonymous");
  EXPECT_EQ(store->GetSession("mine", false)->summary.owner, "key:0123456789abcdef");
  const std::vector<SessionSummary> mine =
      store->ListSessions(10, std::nullopt, std::string("key:0123456789abcdef"));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].id, "mine");
  EXPECT_EQ(mine[0].owner, "key:0123456789abcdef");
  EXPECT_EQ(store->ListSessions(10, std::nullopt).size(), 3u);
  EXPECT_EQ(store->ListSessions(10, std::nullopt, std::string("nobody")).size(), 0u);
}

TEST(SqliteSessionStoreOpenTest, NonSqliteFileIsRefused) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.db";
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) out << "this is a text file, not a database\n";
  }
  try {
    SqliteSessionStore::Open(path, false);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
    EXPECT_THAT(e.what(), HasSubstr("file is not a database"));
  }
}

TEST(SqliteSessionStoreOpenTest, AnotherProgramsDatabaseIsRefused) {
  TempDir dir;
  const fs::path path = dir.path() / "other.db";
  RawDb(path).Exec("CREATE TABLE accounts(id INTEGER PRIMARY KEY)");
  EXPECT_THROW(SqliteSessionStore::Open(path, false), StoreError);
  RawDb(path).Exec("PRAGMA user_version = 1; PRAGMA application_id = 42");
  try {
    SqliteSessionStore::Open(path, false);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a chatbot session database"));
  }
}

TEST(SqliteSessionStoreOpenTest, UncreatableDirectoryIsReported) {
  TempDir dir;
  const fs::path blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  try {
    SqliteSessionStore::Open(blocker / "sessions.db", false);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr((blocker / "sessions.db").string()));
  }
}

TEST(SqliteSessionStoreOpenTest, TwoStoresOnOneFileShareTheData) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.db";
  auto first = SqliteSessionStore::Open(path, false);
  auto second = SqliteSessionStore::Open(path, false);
  first->CreateSession("s1", 1);
  second->AppendTurn("s1", MakeTurn(1), State(1));
  EXPECT_EQ(first->GetSession("s1", true)->turns.size(), 1u);
}

// Several processes (the service, a `chatbot sessions` command) may open a
// database that does not exist yet at the same moment: each gets a working
// store and the schema is created once. Threads with their own store stand
// in for the processes (one connection each).
TEST(SqliteSessionStoreOpenTest, ConcurrentFirstOpensAllSucceed) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    const fs::path path = dir.path() / "sessions.db";
    constexpr int kOpeners = 6;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kOpeners; ++t) {
      threads.emplace_back([&, t] {
        try {
          auto store = SqliteSessionStore::Open(path, false);
          store->CreateSession("s" + std::to_string(t), t);
        } catch (const StoreError& e) {
          ADD_FAILURE() << e.what();
          ++failures;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(failures.load(), 0);
    EXPECT_EQ(SqliteSessionStore::Open(path, false)->CountSessions(), kOpeners);
  }
}

// Writes `size` bytes from `data` to `fd`; false on failure.
bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads one acknowledged turn number; false at end of file.
bool ReadAck(int fd, int64_t* number) {
  char* p = reinterpret_cast<char*>(number);
  size_t got = 0;
  while (got < sizeof *number) {
    const ssize_t n = ::read(fd, p + got, sizeof *number - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// The durability contract: a child process appends turns as fast as it can
// and reports each one AppendTurn acknowledged; it is killed with SIGKILL
// mid-stream (usually inside a transaction). Every acknowledged turn must be
// in the database afterwards, the session's turn count and state must match
// its turns, and the database must pass SQLite's integrity check.
TEST(SqliteSessionStoreCrashTest, AcknowledgedTurnsSurviveSigkill) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.db";
  SqliteSessionStore::Open(path, false)->CreateSession("crash", 0);

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child opens its own connection: SQLite handles must not cross fork.
    ::close(pipe_fds[0]);
    try {
      auto store = SqliteSessionStore::Open(path, false);
      for (int64_t n = 1;; ++n) {
        store->AppendTurn("crash", MakeTurn(n), State(n));
        if (!WriteAll(pipe_fds[1], &n, sizeof n)) ::_exit(3);
      }
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(pipe_fds[1]);

  int64_t last_ack = 0;
  for (int64_t n; last_ack < 500 && ReadAck(pipe_fds[0], &n);) last_ack = n;
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  // Acknowledgements already in the pipe count too.
  for (int64_t n; ReadAck(pipe_fds[0], &n);) last_ack = n;
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself with status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(last_ack, 500);

  auto store = SqliteSessionStore::Open(path, false);
  const std::optional<Session> session = store->GetSession("crash", true);
  ASSERT_TRUE(session.has_value());
  // The turn being written at the kill may or may not have committed.
  EXPECT_GE(session->summary.turn_count, last_ack);
  EXPECT_LE(session->summary.turn_count, last_ack + 1);
  EXPECT_EQ(session->dialogue_state, State(session->summary.turn_count));
  ASSERT_EQ(session->turns.size(), static_cast<size_t>(session->summary.turn_count));
  for (int64_t n = 1; n <= session->summary.turn_count; ++n) {
    ExpectSameTurn(session->turns[n - 1], MakeTurn(n));
  }
  store.reset();
  EXPECT_EQ(RawDb(path).Query("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace chatbot::store
