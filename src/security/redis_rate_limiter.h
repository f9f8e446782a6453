// A RateLimiter whose buckets live in Redis, so that every instance of the
// service using the same Redis shares one limit per key and address.
//
// Same GCRA as LocalRateLimiter (rate_limiter.h): one number per bucket,
// its theoretical arrival time (TAT), here in microseconds. One Lua script
// (EVALSHA; loaded with SCRIPT LOAD when Redis answers NOSCRIPT) reads the
// TAT, decides and writes it back, atomically, in one round trip; the key
// expires when the bucket is full again, since a full bucket and a missing
// one are the same. The script reads the time from Redis (TIME) by default:
// the callers' clocks are steady clocks of separate processes, possibly on
// separate machines, with nothing in common, whereas Redis's clock is one
// clock for every instance. Tests can pass the caller's time instead, to
// hold Redis to exactly the local limiter's contract.
//
// On the request path: a connection is taken from a pool (no lock held
// during the round trip), with connect and command timeouts of a few tens
// of milliseconds. When Redis cannot be reached, decisions follow the
// down policy without touching Redis:
//   - kLocal: a local bucket per instance at the limit divided by the
//     configured number of instances (so the cluster as a whole stays near
//     the limit);
//   - kClosed: refused with RateDecision::unavailable (503, Retry-After).
// A background thread reconnects with exponential backoff and switches back
// to Redis when it answers; no request ever waits for a reconnection. The
// problem is logged once per log_interval, counted in
// chatbot_rate_limit_backend_errors_total, and chatbot_rate_limit_backend_up
// says which state the limiter is in.
#ifndef CHATBOT_SECURITY_REDIS_RATE_LIMITER_H_
#define CHATBOT_SECURITY_REDIS_RATE_LIMITER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "security/rate_limiter.h"
#include "security/redis_connection.h"

namespace chatbot::metrics {
class MetricsRegistry;
class Counter;
class Gauge;
}  // namespace chatbot::metrics

namespace chatbot::security {

enum class RedisDownPolicy { kLocal, kClosed };

struct RedisRateLimiterOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds timeout{50};  // connect and command
  RedisDownPolicy down_policy = RedisDownPolicy::kLocal;
  int64_t instances = 1;  // kLocal divides the limits by this
  std::string key_prefix = "chatbot:rl:";
  // Redis's TIME (the service); false: the caller's now_ns, which must then
  // be the same clock for every instance (tests).
  bool server_time = true;
  std::chrono::milliseconds log_interval{10000};
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // What an unavailable decision tells the client to wait.
  double unavailable_retry_after_s = 1;
};

class RedisRateLimiter final : public RateLimiter {
 public:
  // Tries Redis once (within the timeout) and starts the reconnecting
  // thread; starts in the down state when Redis is not there. `registry`
  // (optional, not owned) receives the metrics.
  explicit RedisRateLimiter(RedisRateLimiterOptions options,
                            metrics::MetricsRegistry* registry = nullptr);
  ~RedisRateLimiter() override;
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  RateDecision Acquire(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                       double cost = 1) override;
  RateDecision Peek(const BucketId& bucket, const RateLimit& limit, int64_t now_ns) override;

  // Whether decisions come from Redis (false: from the down policy).
  bool available() const { return up_.load(std::memory_order_acquire); }
  // Failed round trips and connection attempts so far.
  uint64_t backend_errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  RateDecision Take(const BucketId& bucket, const RateLimit& limit, int64_t now_ns, bool consume,
                    double cost);
  // Nullopt when Redis failed to answer (the failure is recorded).
  std::optional<RateDecision> TakeShared(const BucketId& bucket, const RateLimit& limit,
                                         int64_t now_ns, bool consume, double cost);
  RateDecision TakeDegraded(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                            bool consume, double cost);
  // A failed operation: counted, logged at most once per interval; with
  // `connection_lost`, the limiter goes down and the thread reconnects.
  void Failed(const std::string& error, bool connection_lost);
  // Opens a connection and loads the script: the reconnection probe.
  bool Connect(std::string* error);
  void SetUp(bool up);
  void Run();

  const RedisRateLimiterOptions options_;
  const std::string script_sha_;
  RedisConnectionPool pool_;
  LocalRateLimiter fallback_;

  std::atomic<bool> up_{false};
  std::atomic<uint64_t> errors_{0};
  std::atomic<int64_t> last_log_ns_{INT64_MIN / 2};
  std::atomic<uint64_t> errors_at_last_log_{0};
  metrics::Counter* errors_metric_ = nullptr;
  metrics::Counter* degraded_metric_ = nullptr;
  metrics::Gauge* up_metric_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// "local" | "closed"; throws ConfigError otherwise.
RedisDownPolicy ParseRedisDownPolicy(const std::string& text);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_REDIS_RATE_LIMITER_H_
