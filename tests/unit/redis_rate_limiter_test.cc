// The Redis rate limiter against a real redis-server (tests/support): two
// limiters, as two instances of the service, share one limit; Redis's own
// clock refills the buckets; a flushed script is loaded again; with Redis
// stopped, the local policy divides the limit by the instances and the
// closed policy answers "unavailable", quickly, counted in the metrics;
// with Redis started again, the limiter returns to the shared buckets by
// itself. Also the redis:// URL's parsing.
#include "security/redis_rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "ci_skip.h"
#include "common/error.h"
#include "metrics/metrics_registry.h"
#include "redis_server.h"

namespace chatbot::security {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             steady_clock::now().time_since_epoch())
      .count();
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RedisServer::Available()) {
      CHATBOT_SKIP("redis-server is not installed (scripts/setup.sh installs it)");
    }
    redis_.Start();
  }

  RedisRateLimiterOptions Options(RedisDownPolicy policy = RedisDownPolicy::kLocal,
                                  int64_t instances = 1) const {
    RedisRateLimiterOptions options;
    options.endpoint = RedisEndpoint::FromUrl(redis_.Url());
    options.down_policy = policy;
    options.instances = instances;
    options.min_backoff = milliseconds(20);
    options.max_backoff = milliseconds(200);
    return options;
  }

  // Waits (up to 5 s) until the limiter is back on Redis.
  static bool WaitAvailable(const RedisRateLimiter& limiter) {
    const auto deadline = steady_clock::now() + std::chrono::seconds(5);
    while (!limiter.available() && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    return limiter.available();
  }

  // Acquires until refused (at most `most` times) at one instant; how many
  // were allowed.
  static int AllowedInARow(RateLimiter& limiter, const BucketId& bucket, const RateLimit& limit,
                           int most = 100) {
    const int64_t now = NowNs();
    int allowed = 0;
    while (allowed < most && limiter.Acquire(bucket, limit, now).allowed) ++allowed;
    return allowed;
  }

  testing::RedisServer redis_;
};

TEST_F(RedisRateLimiterTest, TwoInstancesShareOneLimit) {
  RedisRateLimiter a(Options());
  RedisRateLimiter b(Options());
  ASSERT_TRUE(a.available() && b.available()) << redis_.Log();
  // 20 requests/s, a bucket of 1, for one second, the requests alternating
  // between the instances: about 20 pass in all, where two local limiters
  // would pass about 40.
  const RateLimit limit{20, 1};
  const BucketId key = BucketId::ForKey(99);
  int allowed_a = 0;
  int allowed_b = 0;
  const auto end = steady_clock::now() + std::chrono::seconds(1);
  for (int i = 0; steady_clock::now() < end; ++i) {
    if (i % 2 == 0) {
      allowed_a += a.Acquire(key, limit, NowNs()).allowed;
    } else {
      allowed_b += b.Acquire(key, limit, NowNs()).allowed;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_GE(allowed_a + allowed_b, 18);
  EXPECT_LE(allowed_a + allowed_b, 23);
  // Both instances took part.
  EXPECT_GT(allowed_a, 3);
  EXPECT_GT(allowed_b, 3);
  EXPECT_EQ(a.backend_errors() + b.backend_errors(), 0u);
}

TEST_F(RedisRateLimiterTest, RedisClockRefillsTheBucket) {
  RedisRateLimiter limiter(Options());
  ASSERT_TRUE(limiter.available());
  const RateLimit limit{10, 2};
  const BucketId key = BucketId::ForKey(5);
  // The caller's time is not used: a nonsense value changes nothing.
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  const RateDecision refused = limiter.Acquire(key, limit, 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after_s, 0.05);
  EXPECT_LE(refused.retry_after_s, 0.1);
  std::this_thread::sleep_for(milliseconds(120));
  EXPECT_TRUE(limiter.Acquire(key, limit, 0).allowed);
  // The bucket's key expires when the bucket is full again: within 2/10 s.
  const std::string bucket_key = "chatbot:rl:k00000000000000000000000000000005";
  const std::string ttl = redis_.Command("PTTL " + bucket_key);
  ASSERT_EQ(ttl.substr(0, 1), ":") << ttl;
  EXPECT_GT(std::stoi(ttl.substr(1)), 0);
  EXPECT_LE(std::stoi(ttl.substr(1)), 201);
  std::this_thread::sleep_for(milliseconds(250));
  EXPECT_EQ(redis_.Command("EXISTS " + bucket_key), ":0");
}

TEST_F(RedisRateLimiterTest, AFlushedScriptIsLoadedAgain) {
  RedisRateLimiter limiter(Options(RedisDownPolicy::kClosed));
  const RateLimit limit{1, 1};
  EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(1), limit, 0).allowed);
  ASSERT_EQ(redis_.Command("SCRIPT FLUSH"), "+OK");
  EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(2), limit, 0).allowed);
  const RateDecision again = limiter.Acquire(BucketId::ForKey(2), limit, 0);
  EXPECT_FALSE(again.allowed);
  EXPECT_FALSE(again.unavailable);
  EXPECT_EQ(limiter.backend_errors(), 0u);
}

TEST_F(RedisRateLimiterTest, LocalPolicyDividesTheLimitThenReturnsToRedis) {
  metrics::MetricsRegistry registry;
  RedisRateLimiter a(Options(RedisDownPolicy::kLocal, 2), &registry);
  RedisRateLimiter b(Options(RedisDownPolicy::kLocal, 2));
  ASSERT_TRUE(a.available() && b.available());
  EXPECT_THAT(registry.Render(), HasSubstr("chatbot_rate_limit_backend_up 1\n"));
  const RateLimit limit{1, 10};  // slow refill: the counts below are exact
  redis_.Stop();

  // Half of the bucket on each instance, without waiting for Redis.
  const auto start = steady_clock::now();
  EXPECT_EQ(AllowedInARow(a, BucketId::ForKey(1), limit), 5);
  EXPECT_EQ(AllowedInARow(b, BucketId::ForKey(1), limit), 5);
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_FALSE(a.available());
  EXPECT_GE(a.backend_errors(), 1u);
  const std::string metrics = registry.Render();
  EXPECT_THAT(metrics, HasSubstr("chatbot_rate_limit_backend_up 0\n"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("chatbot_rate_limit_backend_errors_total [1-9]"));
  EXPECT_THAT(metrics, HasSubstr("chatbot_rate_limit_degraded_decisions_total 6\n"));

  // Redis again, on the same port: both go back to one shared bucket.
  redis_.Start();
  ASSERT_TRUE(WaitAvailable(a));
  ASSERT_TRUE(WaitAvailable(b));
  EXPECT_THAT(registry.Render(), HasSubstr("chatbot_rate_limit_backend_up 1\n"));
  EXPECT_EQ(AllowedInARow(a, BucketId::ForKey(2), limit), 10);
  EXPECT_EQ(AllowedInARow(b, BucketId::ForKey(2), limit), 0);
}

TEST_F(RedisRateLimiterTest, ClosedPolicyAnswersUnavailableThenReturnsToRedis) {
  RedisRateLimiter limiter(Options(RedisDownPolicy::kClosed));
  const RateLimit limit{1, 10};
  EXPECT_TRUE(limiter.Acquire(BucketId::ForKey(1), limit, 0).allowed);
  redis_.Stop();
  const auto start = steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    const RateDecision d = limiter.Acquire(BucketId::ForKey(1), limit, 0);
    ASSERT_FALSE(d.allowed);
    ASSERT_TRUE(d.unavailable);
    EXPECT_GE(d.retry_after_s, 1);
  }
  // One failed round trip at most; the rest never touch the network.
  EXPECT_LT(steady_clock::now() - start, milliseconds(300));
  EXPECT_TRUE(limiter.Peek(BucketId::ForKey(1), limit, 0).unavailable);
  redis_.Start();
  ASSERT_TRUE(WaitAvailable(limiter));
  // A fresh Redis: the bucket is full again.
  EXPECT_EQ(AllowedInARow(limiter, BucketId::ForKey(1), limit), 10);
}

TEST_F(RedisRateLimiterTest, RedisAbsentAtStartIsTheDownState) {
  RedisRateLimiterOptions options = Options(RedisDownPolicy::kLocal, 4);
  redis_.Stop();
  const auto start = steady_clock::now();
  RedisRateLimiter limiter(options);
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_FALSE(limiter.available());
  EXPECT_EQ(AllowedInARow(limiter, BucketId::ForKey(1), RateLimit{1, 8}), 2);
  redis_.Start();
  EXPECT_TRUE(WaitAvailable(limiter));
  EXPECT_EQ(AllowedInARow(limiter, BucketId::ForKey(1), RateLimit{1, 8}), 8);
}

TEST(RedisEndpointTest, ParsesTheUrl) {
  const RedisEndpoint plain = RedisEndpoint::FromUrl("redis://cache.internal");
  EXPECT_EQ(plain.host, "cache.internal");
  EXPECT_EQ(plain.port, 6379);
  EXPECT_EQ(plain.db, 0);
  EXPECT_EQ(plain.password, "");
  const RedisEndpoint full = RedisEndpoint::FromUrl("redis://:s3cret@10.0.0.5:6380/2");
  EXPECT_EQ(full.host, "10.0.0.5");
  EXPECT_EQ(full.port, 6380);
  EXPECT_EQ(full.db, 2);
  EXPECT_EQ(full.user, "");
  EXPECT_EQ(full.password, "s3cret");
  EXPECT_EQ(full.Describe(), "10.0.0.5:6380/2");
  const RedisEndpoint user = RedisEndpoint::FromUrl("redis://limiter:pw@[::1]:7000");
  EXPECT_EQ(user.host, "::1");
  EXPECT_EQ(user.port, 7000);
  EXPECT_EQ(user.user, "limiter");
  EXPECT_EQ(user.password, "pw");
}

TEST(RedisEndpointTest, RefusesAMalformedUrlWithoutShowingThePassword) {
  EXPECT_THROW(RedisEndpoint::FromUrl("http://localhost"), ConfigError);
  EXPECT_THROW(RedisEndpoint::FromUrl("redis://"), ConfigError);
  try {
    RedisEndpoint::FromUrl("redis://:hunter2@localhost:port");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("port"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("hunter2")));
  }
  EXPECT_THROW(RedisEndpoint::FromUrl("redis://localhost:70000"), ConfigError);
}

}  // namespace
}  // namespace chatbot::security
