// The NoticeStore contract on every backend (store_backends.h): a notice
// round-trips with and without an end, replaces the previous one, clears,
// and is seen by a second store on the same data (another instance); and
// the NoticeBoard over it: the operator's notice overrides [bot] notice,
// disappears by itself at its end, and survives an unreadable store.
#include <gtest/gtest.h>

#include <atomic>

#include "common/error.h"
#include "ops/notice_board.h"
#include "ops/notice_store.h"
#include "store_backends.h"

namespace chatbot::ops {
namespace {

class NoticeStoreContractTest : public ::testing::TestWithParam<test_support::Backend> {
 protected:
  void SetUp() override { CHATBOT_PREPARE_STORE_OR_SKIP(location_); }

  test_support::StoreLocation location_{GetParam()};
};

TEST_P(NoticeStoreContractTest, SetReplaceClear) {
  auto store = location_.OpenNotices();
  EXPECT_FALSE(store->Get().has_value());
  EXPECT_FALSE(store->Clear());
  const ServiceNotice first{.text = "Maintenance at 20:00 UTC; chats may pause.",
                            .set_at_ms = 1000,
                            .set_by = "cli root@host",
                            .until_ms = 5000};
  store->Set(first);
  EXPECT_EQ(store->Get(), first);
  const ServiceNotice second{.text = "Back to normal soon ‘ü’",
                             .set_at_ms = 2000,
                             .set_by = "key 1 (ops)",
                             .until_ms = {}};
  store->Set(second);
  EXPECT_EQ(store->Get(), second);
  // Another instance on the same data sees it, and its clear is seen here.
  auto other = location_.OpenNotices();
  EXPECT_EQ(other->Get(), second);
  EXPECT_TRUE(other->Clear());
  EXPECT_FALSE(store->Get().has_value());
}

TEST_P(NoticeStoreContractTest, BoardOverridesTheConfiguredNoticeUntilItEnds) {
  std::atomic<int64_t> now{10'000};
  NoticeBoard board(location_.OpenNotices(), "Configured notice", [&now] { return now.load(); });
  EXPECT_EQ(board.Text(), "Configured notice");
  EXPECT_FALSE(board.Current().has_value());
  board.Set({.text = "Outage", .set_at_ms = now, .set_by = "test", .until_ms = 20'000});
  EXPECT_EQ(board.Text(), "Outage");
  now = 19'999;
  EXPECT_EQ(board.Text(), "Outage");
  now = 20'000;  // its end: gone without a read of the store
  EXPECT_EQ(board.Text(), "Configured notice");
  EXPECT_FALSE(board.Current().has_value());
}

TEST_P(NoticeStoreContractTest, BoardSeesAnotherInstancesChangeOnRefresh) {
  NoticeBoard board(location_.OpenNotices(), "", [] { return int64_t{0}; });
  EXPECT_EQ(board.Text(), "");
  auto cli = location_.OpenNotices();
  cli->Set({.text = "Set elsewhere", .set_at_ms = 0, .set_by = "cli", .until_ms = {}});
  EXPECT_EQ(board.Text(), "");  // not read yet
  EXPECT_TRUE(board.Refresh());
  EXPECT_EQ(board.Text(), "Set elsewhere");
  cli->Clear();
  EXPECT_TRUE(board.Refresh());
  EXPECT_EQ(board.Text(), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, NoticeStoreContractTest,
                         ::testing::ValuesIn(test_support::kAllBackends),
                         test_support::BackendName);

// A store whose database is down.
class FailingStore final : public NoticeStore {
 public:
  std::optional<ServiceNotice> Get() override {
    if (down) throw StoreUnavailable("PostgreSQL db:5432/chatbot: connection refused");
    return ServiceNotice{.text = "Degraded", .set_at_ms = 0, .set_by = "t", .until_ms = {}};
  }
  void Set(const ServiceNotice&) override {}
  bool Clear() override { return false; }
  const std::string& where() const override { return where_; }
  bool down = false;

 private:
  std::string where_ = "postgresql://db:5432/chatbot";
};

TEST(NoticeBoardTest, KeepsTheLastNoticeWhileTheStoreIsDown) {
  auto store = std::make_unique<FailingStore>();
  FailingStore* raw = store.get();
  NoticeBoard board(std::move(store), "", [] { return int64_t{0}; });
  EXPECT_EQ(board.Text(), "Degraded");
  raw->down = true;
  EXPECT_FALSE(board.Refresh());
  EXPECT_EQ(board.Text(), "Degraded");
}

TEST(NoticeTextTest, RefusesEmptyLongAndMultiLineTexts) {
  EXPECT_EQ(NoticeTextProblem("Maintenance tonight"), "");
  EXPECT_NE(NoticeTextProblem("  "), "");
  EXPECT_NE(NoticeTextProblem(std::string(kMaxNoticeBytes + 1, 'a')), "");
  EXPECT_NE(NoticeTextProblem("two\nlines"), "");
}

TEST(NoticeUntilTest, TakesAFutureTimeOrADuration) {
  const int64_t now = 1'764'806'400'000;  // 2025-12-04T00:00:00Z
  EXPECT_EQ(ParseNoticeUntil("2h", now), now + 7'200'000);
  EXPECT_EQ(ParseNoticeUntil("2025-12-04T01:00:00Z", now), now + 3'600'000);
  EXPECT_FALSE(ParseNoticeUntil("2025-12-03T23:00:00Z", now).has_value());  // past
  EXPECT_FALSE(ParseNoticeUntil("tomorrow", now).has_value());
  EXPECT_FALSE(ParseNoticeUntil("", now).has_value());
}

}  // namespace
}  // namespace chatbot::ops
