// The search and review part of the SessionStore contract, on every backend
// (store_backends.h): FindSessions (text, intent, time, owner, paging),
// FindTurnsForReview (threshold, window, label status, cursor paging) and
// turn labels (upsert, delete, export order, what survives retention and
// explicit deletion); and SQLite's upgrade of a version 2 database.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "store/sqlite_session_store.h"
#include "store_backends.h"
#include "temp_dir.h"

namespace chatbot::store {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // a base time in Unix ms

Turn MakeTurn(int64_t number, const std::string& text, const std::string& intent, double confidence,
              int64_t received_at_ms) {
  Turn turn;
  turn.number = number;
  turn.user_text = text;
  turn.intent = intent;
  turn.confidence = confidence;
  turn.out_of_scope = intent == "oos";
  turn.reply = "reply to " + text;
  turn.model = "svm";
  turn.model_version = "v1";
  turn.received_at_ms = received_at_ms;
  turn.replied_at_ms = received_at_ms + 3;
  return turn;
}

std::vector<std::string> Ids(const std::vector<SessionSummary>& sessions) {
  std::vector<std::string> ids;
  for (const auto& s : sessions) ids.push_back(s.id);
  return ids;
}

std::vector<std::string> Keys(const std::vector<ReviewItem>& items) {
  std::vector<std::string> keys;
  for (const auto& item : items)
    keys.push_back(item.session_id + "#" + std::to_string(item.turn.number));
  return keys;
}

class SessionReviewTest : public ::testing::TestWithParam<test_support::Backend> {
 protected:
  void SetUp() override {
    CHATBOT_PREPARE_STORE_OR_SKIP(location_);
    store_ = location_.OpenSessions();
    // a: created at T0, two confident turns about orders.
    Add("a", kT0, "key:1",
        {{"Where is my ORDER?", "order_status", 0.9}, {"thanks", "thanks", 0.95}});
    // b: created at T0+1 h, one out-of-scope and one unsure turn.
    Add("b", kT0 + 3'600'000, "key:2",
        {{"what is the meaning of life", "oos", 0.8}, {"refund 100% now_please", "refund", 0.4}});
    // c: created at T0+2 h, an unsure greeting.
    Add("c", kT0 + 7'200'000, "key:1", {{"hey there", "greeting", 0.3}});
  }

  struct Spec {
    std::string text;
    std::string intent;
    double confidence;
  };
  void Add(const std::string& id, int64_t created, const std::string& owner,
           const std::vector<Spec>& turns) {
    store_->CreateSession(id, created, owner);
    int64_t n = 0;
    for (const Spec& t : turns) {
      ++n;
      store_->AppendTurn(id, MakeTurn(n, t.text, t.intent, t.confidence, created + n * 1000), "{}");
    }
  }

  test_support::StoreLocation location_{GetParam()};
  std::unique_ptr<SessionStore> store_;
};

TEST_P(SessionReviewTest, FindSessionsWithoutFiltersListsNewestFirst) {
  EXPECT_EQ(Ids(store_->FindSessions({})), (std::vector<std::string>{"c", "b", "a"}));
}

TEST_P(SessionReviewTest, FindSessionsByTextIgnoresAsciiCaseAndSearchesReplies) {
  SessionQuery query;
  query.text = "where is my order";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"a"}));
  query.text = "REPLY TO HEY";  // the bot's reply
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"c"}));
  query.text = "nothing like this";
  EXPECT_TRUE(store_->FindSessions(query).empty());
}

TEST_P(SessionReviewTest, FindSessionsTreatsWildcardsLiterally) {
  SessionQuery query;
  query.text = "100%";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"b"}));
  query.text = "%";  // only a text with a percent sign
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"b"}));
  query.text = "100_";  // '_' is not "any character" (it would match "100%")
  EXPECT_TRUE(store_->FindSessions(query).empty());
  query.text = "now_please";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"b"}));
}

TEST_P(SessionReviewTest, FindSessionsByIntentTimeAndOwner) {
  SessionQuery query;
  query.intent = "oos";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"b"}));

  query = {};
  query.active_since_ms = kT0 + 3'600'000;  // a's last turn was at T0+2 s
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"c", "b"}));
  query.active_until_ms = kT0 + 3'600'000;  // c was created after
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"b"}));

  query = {};
  query.owner = "key:1";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"c", "a"}));
  query.text = "meaning of life";  // key:2's session: not found for key:1
  EXPECT_TRUE(store_->FindSessions(query).empty());

  query = {};
  query.text = "e";  // every session
  query.intent = "greeting";
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"c"}));
}

TEST_P(SessionReviewTest, FindSessionsPagesWithBefore) {
  SessionQuery query;
  query.limit = 2;
  const auto first = store_->FindSessions(query);
  ASSERT_EQ(Ids(first), (std::vector<std::string>{"c", "b"}));
  query.before_ms = first.back().created_at_ms;
  EXPECT_EQ(Ids(store_->FindSessions(query)), (std::vector<std::string>{"a"}));
  query.limit = 0;
  EXPECT_TRUE(store_->FindSessions(query).empty());
}

TEST_P(SessionReviewTest, ReviewListsUnsureAndOutOfScopeTurnsNewestFirst) {
  ReviewQuery query;
  query.since_ms = 0;
  query.below_confidence = 0.5;
  const auto items = store_->FindTurnsForReview(query);
  EXPECT_EQ(Keys(items), (std::vector<std::string>{"c#1", "b#2", "b#1"}));
  EXPECT_EQ(items[0].turn.user_text, "hey there");
  EXPECT_DOUBLE_EQ(items[0].turn.confidence, 0.3);
  EXPECT_FALSE(items[0].label.has_value());
  EXPECT_TRUE(items[2].turn.out_of_scope);

  query.below_confidence = 0.35;  // b#2 (0.4) is confident enough now; b#1 is oos
  EXPECT_EQ(Keys(store_->FindTurnsForReview(query)), (std::vector<std::string>{"c#1", "b#1"}));
  query.below_confidence = 1;  // everything, confident turns too
  EXPECT_EQ(store_->FindTurnsForReview(query).size(), 5u);

  query.below_confidence = 0.5;
  query.since_ms = kT0 + 3'600'000 + 1500;  // b#1 (received at +1 s) is older
  EXPECT_EQ(Keys(store_->FindTurnsForReview(query)), (std::vector<std::string>{"c#1", "b#2"}));
}

TEST_P(SessionReviewTest, ReviewPagesWithACursorWithoutSkippingTies) {
  // Three unsure turns received in the same millisecond, in three sessions.
  for (const char* id : {"x", "y", "z"}) {
    store_->CreateSession(id, kT0 + 9'000'000);
    store_->AppendTurn(id, MakeTurn(1, "hmm", "greeting", 0.1, kT0 + 9'999'000), "{}");
  }
  ReviewQuery query;
  query.limit = 2;
  std::vector<std::string> all;
  for (int page = 0; page < 10; ++page) {
    const auto items = store_->FindTurnsForReview(query);
    for (const auto& key : Keys(items)) all.push_back(key);
    if (static_cast<int>(items.size()) < query.limit) break;
    query.before = ReviewQuery::Cursor{items.back().turn.received_at_ms, items.back().session_id,
                                       items.back().turn.number};
  }
  EXPECT_EQ(all, (std::vector<std::string>{"z#1", "y#1", "x#1", "c#1", "b#2", "b#1"}));
}

TEST_P(SessionReviewTest, LabelsAreStoredReplacedFilteredAndDeleted) {
  const auto label = store_->LabelTurn("b", 1, "oos", "key:ops", kT0 + 10);
  ASSERT_TRUE(label.has_value());
  EXPECT_EQ(label->text, "what is the meaning of life");
  EXPECT_EQ(label->predicted_intent, "oos");
  EXPECT_EQ(label->labelled_by, "key:ops");
  ASSERT_TRUE(store_->LabelTurn("c", 1, "greeting", "key:ops", kT0 + 20).has_value());
  // Relabelling replaces.
  ASSERT_TRUE(store_->LabelTurn("c", 1, "thanks", "key:boss", kT0 + 30).has_value());
  EXPECT_FALSE(store_->LabelTurn("c", 2, "thanks", "key:ops", kT0).has_value());  // no turn 2
  EXPECT_FALSE(store_->LabelTurn("nope", 1, "thanks", "key:ops", kT0).has_value());

  ReviewQuery query;
  const auto items = store_->FindTurnsForReview(query);
  ASSERT_EQ(Keys(items), (std::vector<std::string>{"c#1", "b#2", "b#1"}));
  ASSERT_TRUE(items[0].label.has_value());
  EXPECT_EQ(items[0].label->intent, "thanks");
  EXPECT_EQ(items[0].label->labelled_by, "key:boss");
  EXPECT_FALSE(items[1].label.has_value());
  query.status = ReviewQuery::Status::kUnlabelled;
  EXPECT_EQ(Keys(store_->FindTurnsForReview(query)), (std::vector<std::string>{"b#2"}));
  query.status = ReviewQuery::Status::kLabelled;
  EXPECT_EQ(Keys(store_->FindTurnsForReview(query)), (std::vector<std::string>{"c#1", "b#1"}));

  const auto labels = store_->ListLabels(0);  // oldest label first
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].session_id, "b");
  EXPECT_EQ(labels[1].session_id, "c");
  EXPECT_EQ(labels[1].intent, "thanks");
  EXPECT_EQ(store_->ListLabels(kT0 + 25).size(), 1u);

  EXPECT_TRUE(store_->DeleteLabel("b", 1));
  EXPECT_FALSE(store_->DeleteLabel("b", 1));
  EXPECT_EQ(store_->ListLabels(0).size(), 1u);
}

TEST_P(SessionReviewTest, LabelsOutliveRetentionButNotAnExplicitDelete) {
  ASSERT_TRUE(store_->LabelTurn("a", 1, "order_status", "key:ops", kT0).has_value());
  ASSERT_TRUE(store_->LabelTurn("b", 2, "refund", "key:ops", kT0).has_value());
  // Retention removes a (idle since T0+2 s) and b, not their labels.
  EXPECT_EQ(store_->DeleteSessionsUpdatedBefore(kT0 + 5'000'000), 2);
  EXPECT_EQ(store_->ListLabels(0).size(), 2u);
  // Deleting a session on request erases its labels too.
  store_->CreateSession("d", kT0 + 9'000'000);
  store_->AppendTurn("d", MakeTurn(1, "my secret", "greeting", 0.1, kT0 + 9'000'001), "{}");
  ASSERT_TRUE(store_->LabelTurn("d", 1, "oos", "key:ops", kT0).has_value());
  EXPECT_EQ(store_->ListLabels(0).size(), 3u);
  EXPECT_TRUE(store_->DeleteSession("d"));
  const auto left = store_->ListLabels(0);
  ASSERT_EQ(left.size(), 2u);
  for (const auto& label : left) EXPECT_NE(label.session_id, "d");
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionReviewTest,
                         ::testing::ValuesIn(test_support::kAllBackends),
                         test_support::BackendName);

TEST(SessionReviewUpgradeTest, VersionTwoGetsTheLabelsTable) {
  test_support::TempDir dir("chatbot-review-upgrade");
  const auto path = dir.path() / "sessions.db";
  {
    auto store = SqliteSessionStore::Open(path, false);
    store->CreateSession("s", kT0);
    store->AppendTurn("s", MakeTurn(1, "hmm", "greeting", 0.1, kT0 + 1), "{}");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE turn_labels; PRAGMA user_version = 2;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = SqliteSessionStore::Open(path, false);
  ASSERT_TRUE(store->LabelTurn("s", 1, "thanks", "key:ops", kT0).has_value());
  EXPECT_EQ(store->ListLabels(0).size(), 1u);
  EXPECT_EQ(store->FindTurnsForReview({}).size(), 1u);
}

}  // namespace
}  // namespace chatbot::store
