// Token buckets (GCRA): the burst, the refill, the numbers behind the 429
// headers and peeking, as one contract that every RateLimiter meets: the
// local one, and the Redis one (a real redis-server, given the caller's
// time so that both run on the same given clock). The sweeping of full
// buckets is the local limiter's own. Time is given, never slept.
#include "security/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "ci_skip.h"
#include "redis_server.h"
#include "security/redis_rate_limiter.h"

namespace chatbot::security {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// One redis-server for the whole binary, stopped at exit; every test has
// its own key prefix.
testing::RedisServer* SharedRedis() {
  static testing::RedisServer redis;
  static const bool started = (redis.Start(), true);
  (void)started;
  return &redis;
}

struct Backend {
  std::string name;
  std::function<std::unique_ptr<RateLimiter>()> make;
};

std::unique_ptr<RateLimiter> MakeRedisLimiter() {
  static std::atomic<int> tests{0};
  RedisRateLimiterOptions options;
  options.endpoint = RedisEndpoint::FromUrl(SharedRedis()->Url());
  options.key_prefix = "contract" + std::to_string(tests++) + ":";
  options.server_time = false;                     // the test's clock, as the local limiter's
  options.down_policy = RedisDownPolicy::kClosed;  // a lost Redis must show, not be hidden
  options.timeout = std::chrono::milliseconds(1000);
  auto limiter = std::make_unique<RedisRateLimiter>(options);
  EXPECT_TRUE(limiter->available()) << SharedRedis()->Log();
  return limiter;
}

class RateLimiterContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().name == "redis" && !testing::RedisServer::Available()) {
      CHATBOT_SKIP("redis-server is not installed (scripts/setup.sh installs it)");
    }
    limiter_ = GetParam().make();
  }
  std::unique_ptr<RateLimiter> limiter_;
};

INSTANTIATE_TEST_SUITE_P(
    Backends, RateLimiterContract,
    ::testing::Values(Backend{"local", [] { return std::make_unique<LocalRateLimiter>(); }},
                      Backend{"redis", MakeRedisLimiter}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST_P(RateLimiterContract, BurstThenOneTokenPerInterval) {
  RateLimiter& limiter = *limiter_;
  const RateLimit limit{10, 5};  // 10/s, bucket of 5
  const BucketId key = BucketId::ForKey(42);
  int64_t now = 100 * kSecond;
  for (int i = 0; i < 5; ++i) {
    const RateDecision d = limiter.Acquire(key, limit, now);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);
  }
  const RateDecision refused = limiter.Acquire(key, limit, now);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.unavailable);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_NEAR(refused.retry_after_s, 0.1, 1e-9);  // one token in 1/10 s
  EXPECT_NEAR(refused.reset_s, 0.5, 1e-9);        // full again in 5/10 s
  // Just before the next token: still refused; at it: allowed, and only one.
  EXPECT_FALSE(limiter.Acquire(key, limit, now + kSecond / 10 - 1).allowed);
  EXPECT_TRUE(limiter.Acquire(key, limit, now + kSecond / 10).allowed);
  EXPECT_FALSE(limiter.Acquire(key, limit, now + kSecond / 10).allowed);
  // After a long pause the bucket is full, not fuller.
  now += 100 * kSecond;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Acquire(key, limit, now).allowed);
  EXPECT_FALSE(limiter.Acquire(key, limit, now).allowed);
}

TEST_P(RateLimiterContract, ACostTakesThatManyTokensAndAtMostTheBucket) {
  RateLimiter& limiter = *limiter_;
  const RateLimit limit{10, 5};
  const BucketId key = BucketId::ForKey(7);
  const int64_t now = 100 * kSecond;
  const RateDecision heavy = limiter.Acquire(key, limit, now, 3);
  EXPECT_TRUE(heavy.allowed);
  EXPECT_EQ(heavy.remaining, 2);
  EXPECT_FALSE(limiter.Acquire(key, limit, now, 3).allowed);
  EXPECT_TRUE(limiter.Acquire(key, limit, now, 2).allowed);
  // A cost beyond the bucket counts as the bucket: possible when it is full.
  const BucketId other = BucketId::ForKey(8);
  EXPECT_TRUE(limiter.Acquire(other, limit, now, 50).allowed);
  EXPECT_FALSE(limiter.Acquire(other, limit, now).allowed);
  EXPECT_TRUE(limiter.Acquire(other, limit, now + kSecond / 10).allowed);
}

TEST_P(RateLimiterContract, BucketsAreIndependent) {
  RateLimiter& limiter = *limiter_;
  const RateLimit limit{1, 1};
  const IpAddress a = *IpAddress::Parse("192.0.2.1");
  const IpAddress b = *IpAddress::Parse("192.0.2.2");
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, a), limit, 0).allowed);
  EXPECT_FALSE(
      limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, a), limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, b), limit, 0).allowed);
  // The same address in other kinds of bucket, and a key.
  EXPECT_TRUE(
      limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAuthFailures, a), limit, 0).allowed);
  EXPECT_TRUE(
      limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAnyRequest, a), limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(1), limit, 0).allowed);
  // IPv6 addresses differ in their high half too.
  const IpAddress c = *IpAddress::Parse("2001:db8::1");
  const IpAddress d = *IpAddress::Parse("2001:db9::1");
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, c), limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, d), limit, 0).allowed);
}

TEST_P(RateLimiterContract, PeekTakesNothing) {
  RateLimiter& limiter = *limiter_;
  const RateLimit limit{1, 2};
  const BucketId key = BucketId::ForKey(7);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Peek(key, limit, 0).allowed);
  EXPECT_EQ(limiter.Peek(key, limit, 0).remaining, 2);
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  EXPECT_FALSE(limiter.Peek(key, limit, 0).allowed);
  EXPECT_TRUE(limiter.Peek(key, limit, kSecond).allowed);
}

TEST_P(RateLimiterContract, UnlimitedAlwaysAllows) {
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter_->Acquire(BucketId::ForKey(1), RateLimit{0, 1}, 0).allowed);
  }
}

TEST(LocalRateLimiterTest, UnlimitedKeepsNoBucket) {
  LocalRateLimiter limiter;
  for (int i = 0; i < 10; ++i) limiter.Acquire(BucketId::ForKey(1), RateLimit{0, 1}, 0);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(LocalRateLimiterTest, FullBucketsAreSweptAway) {
  LocalRateLimiter limiter;
  const RateLimit limit{1000, 10};
  for (uint32_t i = 0; i < 200000; ++i) {
    limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, IpAddress::V4(i)), limit,
                    static_cast<int64_t>(i) * kSecond);
  }
  // Each bucket is full a millisecond after its one request: only the
  // recent ones can still be held.
  EXPECT_LT(limiter.size(), 200000u / 2);
}

}  // namespace
}  // namespace chatbot::security
