// `chatbot serve` with security.rate_limit_backend = redis against a real
// redis-server (tests/support/redis_server.h): two servers share one
// bucket (429 once the shared bucket is empty, whichever server is asked);
// with Redis stopped, the closed policy answers 503 with Retry-After and
// the local policy keeps answering, and /metrics says so; with Redis back,
// the servers return to it by themselves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "redis_server.h"
#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

class RedisRateLimitTest : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    if (!RedisServer::Available()) {
      CHATBOT_SKIP("redis-server is not installed (scripts/setup.sh installs it)");
    }
    redis_.Start();
  }

  // A server on the Redis backend; requests without a key: 1/s, bucket 3.
  ServerProcess& StartRedisServer(const std::string& policy) {
    return StartServer({"--set", "security.rate_limit_backend=redis", "--set",
                        "security.rate_limit_redis_url=" + redis_.Url(), "--set",
                        "security.rate_limit_redis_down_policy=" + policy, "--set",
                        "security.rate_limit_instances=2", "--set",
                        "security.rate_limit_anonymous=1", "--set", "security.burst_seconds=3"});
  }

  // Waits until requests are admitted again (the server is back on Redis).
  static bool WaitFor200(HttpClient& client) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Parse(client).status == 200) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  RedisServer redis_;
};

TEST_F(RedisRateLimitTest, TwoServersShareOneBucket) {
  ServerProcess& a = StartRedisServer("local");
  ServerProcess& b = StartRedisServer("local");
  HttpClient client_a(a.port());
  HttpClient client_b(b.port());
  // Alternating between the servers: the shared bucket of 3 (plus at most
  // one refilled token), where two local limiters would pass 6.
  int allowed = 0;
  HttpResult limited;
  for (int i = 0; i < 12; ++i) {
    const HttpResult r = Parse(i % 2 == 0 ? client_a : client_b);
    if (r.status == 200) {
      ++allowed;
    } else {
      limited = r;
    }
  }
  EXPECT_GE(allowed, 3);
  EXPECT_LE(allowed, 4);
  ASSERT_EQ(limited.status, 429) << limited.Describe();
  EXPECT_EQ(Code(limited), "rate_limited");
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Header("ratelimit-limit"), "3");
  // The buckets are Redis keys.
  EXPECT_THAT(redis_.Command("DBSIZE"), ::testing::MatchesRegex(":[1-9][0-9]*"));
}

TEST_F(RedisRateLimitTest, ClosedPolicyAnswers503WhileRedisIsDown) {
  ServerProcess& server = StartRedisServer("closed");
  HttpClient client(server.port());
  EXPECT_EQ(Parse(client).status, 200);
  redis_.Stop();
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const HttpResult refused = Parse(client);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
    ASSERT_EQ(refused.status, 503) << refused.Describe();
    EXPECT_EQ(Code(refused), "rate_limiter_unavailable");
    EXPECT_EQ(refused.Header("retry-after"), "1");
    EXPECT_THAT(refused.body, ::testing::Not(HasSubstr("127.0.0.1:")));
  }
  // Back by itself once Redis is.
  redis_.Start();
  EXPECT_TRUE(WaitFor200(client)) << server.Describe();
}

TEST_F(RedisRateLimitTest, LocalPolicyKeepsAnsweringWhileRedisIsDown) {
  ServerProcess& server = StartRedisServer("local");
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  EXPECT_EQ(Parse(client).status, 200);
  redis_.Stop();
  // This instance's share of the bucket of 3 with 2 instances: 1 token.
  const HttpResult first = Parse(client);
  EXPECT_EQ(first.status, 200) << first.Describe();
  const HttpResult second = Parse(client);
  EXPECT_EQ(second.status, 429) << second.Describe();
  const std::string metrics = client.Get("/metrics", Bearer(admin)).body;
  EXPECT_THAT(metrics, HasSubstr("chatbot_rate_limit_backend_up 0\n"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("chatbot_rate_limit_backend_errors_total [1-9]"));
  EXPECT_THAT(ReadFileToString(server.options().dir / "logs" / "app.log"),
              HasSubstr("rate_limit_redis_down_policy = local"));
  redis_.Start();
  std::this_thread::sleep_for(milliseconds(1000));  // a token back, and Redis
  EXPECT_TRUE(WaitFor200(client));
  const std::string after = client.Get("/metrics", Bearer(admin)).body;
  EXPECT_THAT(after, HasSubstr("chatbot_rate_limit_backend_up 1\n"));
}

}  // namespace
}  // namespace chatbot::testing
