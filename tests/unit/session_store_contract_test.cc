// The SessionStore contract (store/session_store.h), one suite run against
// every backend (store_backends.h): sessions and turns round-trip, turn
// numbers are checked (TurnConflict), deletion, paging, retention, counts,
// reopening, and threads appending at once. What only one backend does
// (SQLite's files and pragmas, crash safety of the file) is tested in that
// backend's own test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "sample_turns.h"
#include "store/session_store.h"
#include "store_backends.h"

namespace chatbot::store {
namespace {

using test_support::Backend;
using ::testing::HasSubstr;

class SessionStoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    CHATBOT_PREPARE_STORE_OR_SKIP(location_);
    store_ = location_.OpenSessions();
  }

  test_support::StoreLocation location_{GetParam()};
  std::unique_ptr<SessionStore> store_;
};

TEST_P(SessionStoreContractTest, CreateAndGetSession) {
  store_->CreateSession("s1", 1234);
  const std::optional<Session> session = store_->GetSession("s1", /*with_turns=*/false);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->summary.id, "s1");
  EXPECT_EQ(session->summary.created_at_ms, 1234);
  EXPECT_EQ(session->summary.updated_at_ms, 1234);
  EXPECT_EQ(session->summary.turn_count, 0);
  EXPECT_EQ(session->dialogue_state, "");
  EXPECT_TRUE(session->turns.empty());
  EXPECT_FALSE(store_->GetSession("unknown", true).has_value());
}

TEST_P(SessionStoreContractTest, DuplicateSessionIdIsRefused) {
  store_->CreateSession("s1", 1);
  try {
    store_->CreateSession("s1", 2);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("session s1 already exists"));
  }
  EXPECT_EQ(store_->GetSession("s1", false)->summary.created_at_ms, 1);
}

TEST_P(SessionStoreContractTest, AppendTurnsKeepsOrderAndEveryField) {
  store_->CreateSession("s1", 1000);
  std::vector<Turn> turns;
  for (int64_t n = 1; n <= 4; ++n) {
    turns.push_back(
        MakeTurn(n, "texte accentué \xF0\x9F\x98\x80 'quoted' \"x\" " + std::to_string(n)));
    store_->AppendTurn("s1", turns.back(), State(n));
  }
  const std::optional<Session> session = store_->GetSession("s1", /*with_turns=*/true);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->summary.turn_count, 4);
  EXPECT_EQ(session->summary.created_at_ms, 1000);
  EXPECT_EQ(session->summary.updated_at_ms, turns.back().replied_at_ms);
  EXPECT_EQ(session->dialogue_state, State(4));
  ASSERT_EQ(session->turns.size(), 4u);
  for (size_t i = 0; i < turns.size(); ++i) ExpectSameTurn(session->turns[i], turns[i]);

  // Without turns: the same summary, no turns read.
  const std::optional<Session> bare = store_->GetSession("s1", /*with_turns=*/false);
  EXPECT_EQ(bare->summary.turn_count, 4);
  EXPECT_TRUE(bare->turns.empty());
}

// More sessions than one page of a backend that reads the walk in pages
// (PostgreSQL: 200), some without turns, one created by its first turn.
TEST_P(SessionStoreContractTest, ForEachSessionWalksAllOldestFirstWithTurns) {
  constexpr int kSessions = 450;
  for (int i = 0; i < kSessions; ++i) {
    const std::string id = "s" + std::to_string(i);
    if (i == 7) {
      store_->CreateSessionWithTurn(id, "key:abc", MakeTurn(1, "first of 7"), State(1));
      continue;
    }
    store_->CreateSession(id, 1000);  // one millisecond: created times still increase
    for (int n = 1; n <= i % 3; ++n) store_->AppendTurn(id, MakeTurn(n), State(n));
  }
  std::vector<std::string> ids;
  int64_t last_created = 0;
  store_->ForEachSession([&](const Session& session) {
    EXPECT_GT(session.summary.created_at_ms, last_created) << session.summary.id;
    last_created = session.summary.created_at_ms;
    ids.push_back(session.summary.id);
    const int i = std::stoi(session.summary.id.substr(1));
    const size_t turns = i == 7 ? 1 : static_cast<size_t>(i % 3);
    ASSERT_EQ(session.turns.size(), turns) << session.summary.id;
    EXPECT_EQ(session.summary.turn_count, static_cast<int64_t>(turns));
    for (size_t n = 0; n < turns; ++n) EXPECT_EQ(session.turns[n].number, int64_t(n + 1));
    if (i == 7) {
      EXPECT_EQ(session.summary.owner, "key:abc");
      EXPECT_EQ(session.turns[0].user_text, "first of 7");
    }
    if (turns > 0) {
      EXPECT_EQ(session.dialogue_state, State(int64_t(turns)));
    }
  });
  std::vector<std::string> created;
  for (int i = 0; i < kSessions; ++i) created.push_back("s" + std::to_string(i));
  EXPECT_EQ(ids, created);

  // A visitor that throws ends the walk and leaves the store usable.
  int visited = 0;
  EXPECT_THROW(store_->ForEachSession([&](const Session&) {
    if (++visited == 3) throw std::runtime_error("stop");
  }),
               std::runtime_error);
  EXPECT_EQ(visited, 3);
  store_->AppendTurn("s0", MakeTurn(1), State(1));
  EXPECT_EQ(store_->GetSession("s0", false)->summary.turn_count, 1);
}

TEST_P(SessionStoreContractTest, ASessionCreatedWithItsFirstTurnIsLikeOneCreatedThenAppended) {
  const Turn first = MakeTurn(1, "hello with the first turn");
  store_->CreateSessionWithTurn("s1", "key:abc", first, State(1));
  const std::optional<Session> session = store_->GetSession("s1", /*with_turns=*/true);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->summary.created_at_ms, first.received_at_ms);
  EXPECT_EQ(session->summary.updated_at_ms, first.replied_at_ms);
  EXPECT_EQ(session->summary.turn_count, 1);
  EXPECT_EQ(session->summary.owner, "key:abc");
  EXPECT_EQ(session->dialogue_state, State(1));
  ASSERT_EQ(session->turns.size(), 1u);
  ExpectSameTurn(session->turns[0], first);
  // It goes on like any session.
  store_->AppendTurn("s1", MakeTurn(2), State(2));
  EXPECT_EQ(store_->GetSession("s1", false)->summary.turn_count, 2);

  // An id taken is refused, and nothing of the refused turn is stored.
  try {
    store_->CreateSessionWithTurn("s1", "", MakeTurn(1, "intruder"), State(9));
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("session s1 already exists"));
  }
  const std::optional<Session> after = store_->GetSession("s1", true);
  EXPECT_EQ(after->summary.turn_count, 2);
  EXPECT_EQ(after->dialogue_state, State(2));
  ASSERT_EQ(after->turns.size(), 2u);
  EXPECT_EQ(after->turns[0].user_text, "hello with the first turn");
  EXPECT_EQ(store_->CountSessions(), 1);
}

TEST_P(SessionStoreContractTest, WrongTurnNumberIsRefusedAndChangesNothing) {
  store_->CreateSession("s1", 1);
  try {
    store_->AppendTurn("s1", MakeTurn(2), State(2));
    FAIL() << "expected TurnConflict";
  } catch (const TurnConflict& e) {
    EXPECT_STREQ(e.what(), "session s1: expected turn 1, got 2");
  }
  store_->AppendTurn("s1", MakeTurn(1), State(1));
  // A replay of turn 1 (two requests racing on one session).
  EXPECT_THROW(store_->AppendTurn("s1", MakeTurn(1), "replayed"), TurnConflict);
  EXPECT_THROW(store_->AppendTurn("s1", MakeTurn(0), "zero"), TurnConflict);
  const std::optional<Session> session = store_->GetSession("s1", true);
  EXPECT_EQ(session->summary.turn_count, 1);
  EXPECT_EQ(session->dialogue_state, State(1));
  EXPECT_EQ(session->turns.size(), 1u);
  // The store is still usable after the refusals (no transaction left open).
  store_->AppendTurn("s1", MakeTurn(2), State(2));
  EXPECT_EQ(store_->GetSession("s1", false)->summary.turn_count, 2);
}

TEST_P(SessionStoreContractTest, UnknownSessionIsRefused) {
  try {
    store_->AppendTurn("ghost", MakeTurn(1), State(1));
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no session ghost"));
  }
  EXPECT_EQ(store_->CountSessions(), 0);
}

TEST_P(SessionStoreContractTest, DeleteSessionCascadesToTurns) {
  store_->CreateSession("a", 1);
  store_->CreateSession("b", 2);
  for (int64_t n = 1; n <= 3; ++n) {
    store_->AppendTurn("a", MakeTurn(n), State(n));
    store_->AppendTurn("b", MakeTurn(n), State(n));
  }
  EXPECT_TRUE(store_->DeleteSession("a"));
  EXPECT_FALSE(store_->DeleteSession("a"));
  EXPECT_FALSE(store_->GetSession("a", true).has_value());
  EXPECT_EQ(store_->GetSession("b", true)->turns.size(), 3u);
  // The id can be used again, from turn 1, with none of the old turns.
  store_->CreateSession("a", 3);
  EXPECT_TRUE(store_->GetSession("a", true)->turns.empty());
  store_->AppendTurn("a", MakeTurn(1), State(1));
}

TEST_P(SessionStoreContractTest, ListSessionsNewestFirstWithPaging) {
  for (int i = 1; i <= 5; ++i) store_->CreateSession("s" + std::to_string(i), i * 1000);
  auto ids = [](const std::vector<SessionSummary>& sessions) {
    std::vector<std::string> out;
    for (const SessionSummary& s : sessions) out.push_back(s.id);
    return out;
  };
  EXPECT_EQ(ids(store_->ListSessions(2, std::nullopt)), (std::vector<std::string>{"s5", "s4"}));
  EXPECT_EQ(ids(store_->ListSessions(2, 4000)), (std::vector<std::string>{"s3", "s2"}));
  EXPECT_EQ(ids(store_->ListSessions(2, 2000)), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(ids(store_->ListSessions(10, 1000)), std::vector<std::string>{});
  EXPECT_EQ(ids(store_->ListSessions(0, std::nullopt)), std::vector<std::string>{});
  EXPECT_EQ(store_->ListSessions(100, std::nullopt).size(), 5u);

  store_->AppendTurn("s2", MakeTurn(1), State(1));
  const std::vector<SessionSummary> page = store_->ListSessions(1, 3000);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, "s2");
  EXPECT_EQ(page[0].created_at_ms, 2000);
  EXPECT_EQ(page[0].updated_at_ms, MakeTurn(1).replied_at_ms);
  EXPECT_EQ(page[0].turn_count, 1);
}

TEST_P(SessionStoreContractTest, CleanDeletesOnlyIdleSessionsWithTheirTurns) {
  store_->CreateSession("old", 100);
  store_->CreateSession("active", 100);
  store_->CreateSession("new", 5000);
  Turn turn = MakeTurn(1);
  turn.received_at_ms = 9000;
  turn.replied_at_ms = 9001;
  store_->AppendTurn("active", turn, State(1));  // created long ago, but active
  Turn old_turn = MakeTurn(1);
  old_turn.received_at_ms = 199;
  old_turn.replied_at_ms = 200;  // the session's last activity
  store_->AppendTurn("old", old_turn, State(1));
  EXPECT_EQ(store_->DeleteSessionsUpdatedBefore(5000), 1);
  EXPECT_FALSE(store_->GetSession("old", false).has_value());
  EXPECT_TRUE(store_->GetSession("active", false).has_value());
  EXPECT_TRUE(store_->GetSession("new", false).has_value());
  EXPECT_EQ(store_->DeleteSessionsUpdatedBefore(5000), 0);  // strictly before
  EXPECT_EQ(store_->CountSessions(), 2);
  // Its turns went with it: the id starts afresh.
  store_->CreateSession("old", 6000);
  EXPECT_TRUE(store_->GetSession("old", true)->turns.empty());
}

TEST_P(SessionStoreContractTest, CleanWorksAcrossSeveralBatches) {
  for (int i = 0; i < 1234; ++i) store_->CreateSession("idle-" + std::to_string(i), i);
  store_->CreateSession("kept", 10'000);
  EXPECT_EQ(store_->DeleteSessionsUpdatedBefore(10'000), 1234);
  EXPECT_EQ(store_->CountSessions(), 1);
}

TEST_P(SessionStoreContractTest, CountAndHealth) {
  EXPECT_EQ(store_->CountSessions(), 0);
  for (int i = 0; i < 7; ++i) store_->CreateSession(std::to_string(i), i);
  EXPECT_EQ(store_->CountSessions(), 7);
  std::string reason = "unchanged";
  EXPECT_TRUE(store_->CheckHealth(&reason));
  EXPECT_EQ(reason, "unchanged");
  EXPECT_TRUE(store_->CheckHealth(nullptr));
}

TEST_P(SessionStoreContractTest, ReopenKeepsEverything) {
  store_->CreateSession("s1", 10);
  store_->CreateSession("s2", 20);
  for (int64_t n = 1; n <= 5; ++n) store_->AppendTurn("s1", MakeTurn(n), State(n));
  store_.reset();
  store_ = location_.OpenSessions();
  EXPECT_EQ(store_->CountSessions(), 2);
  const std::optional<Session> session = store_->GetSession("s1", true);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->summary.turn_count, 5);
  EXPECT_EQ(session->dialogue_state, State(5));
  ASSERT_EQ(session->turns.size(), 5u);
  for (int64_t n = 1; n <= 5; ++n) ExpectSameTurn(session->turns[n - 1], MakeTurn(n));
  store_->AppendTurn("s1", MakeTurn(6), State(6));
}

TEST_P(SessionStoreContractTest, CreationTimesAreDistinctAndIncreasing) {
  // Sessions created in one millisecond (or with a clock that stepped back)
  // get later stamps, so paging by creation time never skips one.
  store_->CreateSession("x", 100);
  store_->CreateSession("y", 100);
  store_->CreateSession("z", 50);
  EXPECT_EQ(store_->GetSession("x", false)->summary.created_at_ms, 100);
  EXPECT_EQ(store_->GetSession("y", false)->summary.created_at_ms, 101);
  EXPECT_EQ(store_->GetSession("z", false)->summary.created_at_ms, 102);
  const auto page = store_->ListSessions(10, 102);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, "y");
}

TEST_P(SessionStoreContractTest, ConcurrentAppendsToDifferentSessionsAllLand) {
  constexpr int kThreads = 8;
  constexpr int kTurns = 150;
  for (int t = 0; t < kThreads; ++t) store_->CreateSession("t" + std::to_string(t), t);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = "t" + std::to_string(t);
      for (int64_t n = 1; n <= kTurns; ++n) {
        try {
          store_->AppendTurn(id, MakeTurn(n), State(n));
          // Readers interleave with the writers.
          if (store_->GetSession(id, false)->summary.turn_count != n) ++failures;
        } catch (const StoreError&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    const std::optional<Session> session = store_->GetSession("t" + std::to_string(t), true);
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->summary.turn_count, kTurns);
    ASSERT_EQ(session->turns.size(), static_cast<size_t>(kTurns));
    for (int64_t n = 1; n <= kTurns; ++n) EXPECT_EQ(session->turns[n - 1].number, n);
    EXPECT_EQ(session->dialogue_state, State(kTurns));
  }
}

// Threads racing to append the next turn of the same session: each number is
// taken exactly once, the losers are refused, none is lost or duplicated.
TEST_P(SessionStoreContractTest, RacingAppendsToOneSessionTakeEachNumberOnce) {
  store_->CreateSession("shared", 0);
  constexpr int kThreads = 8;
  std::atomic<int> appended{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int attempt = 0; attempt < 50; ++attempt) {
        const int64_t next = store_->GetSession("shared", false)->summary.turn_count + 1;
        try {
          store_->AppendTurn("shared", MakeTurn(next), State(next));
          ++appended;
        } catch (const TurnConflict& e) {
          EXPECT_THAT(e.what(), HasSubstr("session shared: expected turn"));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::optional<Session> session = store_->GetSession("shared", true);
  EXPECT_EQ(session->summary.turn_count, appended.load());
  ASSERT_EQ(session->turns.size(), static_cast<size_t>(appended.load()));
  for (size_t i = 0; i < session->turns.size(); ++i) {
    EXPECT_EQ(session->turns[i].number, static_cast<int64_t>(i + 1));
  }
}

// Stores of several instances on one database, appending to one session at
// once: every append either lands as the next turn or is refused with
// TurnConflict; none is lost, none duplicated, the state is the last turn's.
TEST_P(SessionStoreContractTest, TwoStoresRacingOnOneSessionLoseNoTurn) {
  auto other = location_.OpenSessions();
  store_->CreateSession("shared", 0);
  std::atomic<int> appended{0};
  auto append = [&](SessionStore* store) {
    for (int attempt = 0; attempt < 60; ++attempt) {
      const int64_t next = store->GetSession("shared", false)->summary.turn_count + 1;
      try {
        store->AppendTurn("shared", MakeTurn(next), State(next));
        ++appended;
      } catch (const TurnConflict&) {
      }
    }
  };
  std::thread first(append, store_.get());
  std::thread second(append, other.get());
  first.join();
  second.join();
  const std::optional<Session> session = other->GetSession("shared", true);
  ASSERT_GE(appended.load(), 60);  // each thread's first append after the other's lands
  EXPECT_EQ(session->summary.turn_count, appended.load());
  ASSERT_EQ(session->turns.size(), static_cast<size_t>(appended.load()));
  for (size_t i = 0; i < session->turns.size(); ++i) {
    EXPECT_EQ(session->turns[i].number, static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(session->dialogue_state, State(appended.load()));
}

// Several instances starting at once against a database nobody opened yet:
// each gets working stores (sessions and keys), and the schema is created
// once (PostgreSQL: under the advisory lock; SQLite: the file's lock).
TEST_P(SessionStoreContractTest, ConcurrentFirstOpensAllSucceed) {
  test_support::StoreLocation fresh(GetParam());
  std::string why_not;
  ASSERT_TRUE(fresh.Prepare(&why_not)) << why_not;
  constexpr int kOpeners = 6;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto sessions = fresh.OpenSessions();
        auto keys = fresh.OpenKeys();
        sessions->CreateSession("opener-" + std::to_string(i), i);
        keys->GetLockdown();
      } catch (const StoreError& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fresh.OpenSessions()->CountSessions(), kOpeners);
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionStoreContractTest,
                         ::testing::ValuesIn(test_support::kAllBackends),
                         test_support::BackendName);

}  // namespace
}  // namespace chatbot::store
