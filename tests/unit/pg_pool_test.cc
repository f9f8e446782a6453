// The PostgreSQL connection pool (db/pg_pool.h) against a real server
// (postgres_server.h): a connection that broke is dropped and a fresh one
// opened, never lent again; a connection to a server that is read-only now
// counts as broken; a statement the server does not answer within the
// query timeout ends in StoreUnavailable, quickly, and its connection is
// dropped too.
#include "db/pg_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "ci_skip.h"
#include "postgres_server.h"

namespace chatbot::db {
namespace {

using Clock = std::chrono::steady_clock;

class PgPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::SharedPostgresServer(&why_not);
    if (server_ == nullptr) {
      CHATBOT_SKIP(why_not);
    }
    url_ = server_->CreateDatabase();
  }

  // Ends a server process and waits until it is gone (its goodbye is then
  // on the connection's socket).
  void Terminate(int64_t pid) {
    const std::string id = std::to_string(pid);
    server_->Execute("SELECT pg_terminate_backend(" + id + ")");
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
    while (server_->Query("SELECT count(*) FROM pg_stat_activity WHERE pid = " + id) != "0" &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static int64_t BackendPid(PgPool& pool) {
    PgLease lease = pool.Acquire();
    return lease->Execute("SELECT pg_backend_pid()", "backend pid").Int(0, 0);
  }

  testing::PostgresServer* server_ = nullptr;
  std::string url_;
};

TEST_F(PgPoolTest, ReusesAHealthyConnectionAndReplacesOneTheServerEnded) {
  PgPool pool({.url = url_, .pool_size = 1, .connect_timeout_ms = 2000});
  const int64_t first = BackendPid(pool);
  EXPECT_EQ(BackendPid(pool), first) << "an idle healthy connection is lent again";

  Terminate(first);
  // The pool has one slot: a broken connection kept would block or fail here.
  const int64_t second = BackendPid(pool);
  EXPECT_NE(second, first);
  EXPECT_EQ(BackendPid(pool), second);
}

TEST_F(PgPoolTest, AConnectionBrokenMidStatementIsNotLentAgain) {
  PgPool pool({.url = url_, .pool_size = 1, .connect_timeout_ms = 2000});
  const int64_t first = BackendPid(pool);
  {
    PgLease lease = pool.Acquire();
    Terminate(first);
    EXPECT_THROW(lease->Execute("SELECT 1", "after termination"), StoreUnavailable);
    EXPECT_TRUE(lease->broken());
  }
  EXPECT_NE(BackendPid(pool), first);
}

TEST_F(PgPoolTest, AServerThatTurnedReadOnlyBreaksTheConnection) {
  PgPool pool({.url = url_, .pool_size = 1, .connect_timeout_ms = 2000});
  int64_t first = 0;
  {
    PgLease lease = pool.Acquire();
    first = lease->Execute("SELECT pg_backend_pid()", "backend pid").Int(0, 0);
    lease->Execute("CREATE TABLE t (x int)", "create");
    // What a standby answers every write with (SQLSTATE 25006).
    lease->Execute("SET default_transaction_read_only = on", "read only");
    try {
      lease->Execute("INSERT INTO t VALUES (1)", "insert");
      FAIL() << "a write on a read-only connection succeeded";
    } catch (const StoreUnavailable& e) {
      EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(lease->broken());
  }
  PgLease lease = pool.Acquire();
  EXPECT_NE(lease->Execute("SELECT pg_backend_pid()", "backend pid").Int(0, 0), first);
  lease->Execute("INSERT INTO t VALUES (1)", "insert");
}

TEST_F(PgPoolTest, AStatementWithoutAnAnswerEndsAtTheQueryTimeout) {
  PgPool pool({.url = url_, .pool_size = 1, .connect_timeout_ms = 2000, .query_timeout_ms = 300});
  const int64_t first = BackendPid(pool);
  const Clock::time_point start = Clock::now();
  try {
    PgLease lease = pool.Acquire();
    lease->Execute("SELECT pg_sleep(30)", "stalled statement");
    FAIL() << "the statement outlived the query timeout";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no answer within 300 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 2.0);
  EXPECT_NE(BackendPid(pool), first);
}

}  // namespace
}  // namespace chatbot::db
