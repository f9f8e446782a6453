// Token buckets (GCRA): the burst, the refill, the numbers behind the 429
// headers, peeking, and the sweeping of full buckets. Time is given, never
// slept.
#include "security/rate_limiter.h"

#include <gtest/gtest.h>

namespace chatbot::security {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(RateLimiterTest, BurstThenOneTokenPerInterval) {
  LocalRateLimiter limiter;
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

TEST(RateLimiterTest, ACostTakesThatManyTokensAndAtMostTheBucket) {
  LocalRateLimiter limiter;
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

TEST(RateLimiterTest, BucketsAreIndependent) {
  LocalRateLimiter limiter;
  const RateLimit limit{1, 1};
  const IpAddress a = *IpAddress::Parse("192.0.2.1");
  const IpAddress b = *IpAddress::Parse("192.0.2.2");
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, a), limit, 0).allowed);
  EXPECT_FALSE(
      limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, a), limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAddress, b), limit, 0).allowed);
  // The same address in another kind of bucket.
  EXPECT_TRUE(
      limiter.Acquire(BucketId::ForAddress(BucketId::Kind::kAuthFailures, a), limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(1), limit, 0).allowed);
}

TEST(RateLimiterTest, PeekTakesNothing) {
  LocalRateLimiter limiter;
  const RateLimit limit{1, 2};
  const BucketId key = BucketId::ForKey(7);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Peek(key, limit, 0).allowed);
  EXPECT_EQ(limiter.Peek(key, limit, 0).remaining, 2);
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  EXPECT_FALSE(limiter.Peek(key, limit, 0).allowed);
  EXPECT_TRUE(limiter.Peek(key, limit, kSecond).allowed);
}

TEST(RateLimiterTest, UnlimitedAlwaysAllows) {
  LocalRateLimiter limiter;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(1), RateLimit{0, 1}, 0).allowed);
  }
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiterTest, FullBucketsAreSweptAway) {
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
