#include "security/redis_rate_limiter.h"

#include <fmt/format.h>
#include <hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/logging.h"
#include "metrics/metrics_registry.h"

namespace chatbot::security {
namespace {

// KEYS[1]: the bucket. ARGV: now in microseconds ('' = Redis's TIME), the
// request's step (cost x interval), the bucket's capacity (burst x
// interval), '1' to take the tokens or '0' to peek. Returns {allowed,
// TAT - now} with the TAT before this request, from which the caller
// derives the headers. The TAT is written with %.0f: Lua's own number
// formatting keeps 14 digits, fewer than a time in microseconds has.
constexpr std::string_view kScript = R"lua(
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local step = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local after = tat + step
if after - now > capacity then return {0, tat - now} end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX',
             math.floor((after - now) / 1000) + 1)
end
return {1, tat - now}
)lua";

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i)
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  return hex;
}

char KindLetter(BucketId::Kind kind) {
  switch (kind) {
    case BucketId::Kind::kKey:
      return 'k';
    case BucketId::Kind::kAddress:
      return 'a';
    case BucketId::Kind::kAuthFailures:
      return 'f';
    case BucketId::Kind::kAnyRequest:
      return 'r';
  }
  return '?';
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view PolicyName(RedisDownPolicy policy) {
  return policy == RedisDownPolicy::kLocal ? "local" : "closed";
}

}  // namespace

RedisDownPolicy ParseRedisDownPolicy(const std::string& text) {
  if (text == "local") return RedisDownPolicy::kLocal;
  if (text == "closed") return RedisDownPolicy::kClosed;
  throw ConfigError("security.rate_limit_redis_down_policy must be local or closed, not '" + text +
                    "'");
}

RedisRateLimiter::RedisRateLimiter(RedisRateLimiterOptions options,
                                   metrics::MetricsRegistry* registry)
    : options_(std::move(options)),
      script_sha_(Sha1Hex(kScript)),
      pool_(options_.endpoint, options_.timeout) {
  if (registry != nullptr) {
    errors_metric_ = &registry
                          ->AddCounter("chatbot_rate_limit_backend_errors_total",
                                       "Failed Redis operations of the rate limiter (requests "
                                       "and reconnection attempts).")
                          .WithLabels({});
    degraded_metric_ = &registry
                            ->AddCounter("chatbot_rate_limit_degraded_decisions_total",
                                         "Rate-limit decisions made without Redis, under "
                                         "security.rate_limit_redis_down_policy.")
                            .WithLabels({});
    up_metric_ = &registry
                      ->AddGauge("chatbot_rate_limit_backend_up",
                                 "1 while the rate limiter's Redis answers, 0 while decisions "
                                 "follow the down policy.")
                      .WithLabels({});
  }
  std::string error;
  if (Connect(&error)) {
    SetUp(true);
    AppLog()->info("rate limits shared through Redis at {}", options_.endpoint.Describe());
  } else {
    Failed(error, /*connection_lost=*/true);
  }
  thread_ = std::thread([this] { Run(); });
}

RedisRateLimiter::~RedisRateLimiter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

RateDecision RedisRateLimiter::Acquire(const BucketId& bucket, const RateLimit& limit,
                                       int64_t now_ns, double cost) {
  return Take(bucket, limit, now_ns, true, cost);
}

RateDecision RedisRateLimiter::Peek(const BucketId& bucket, const RateLimit& limit,
                                    int64_t now_ns) {
  return Take(bucket, limit, now_ns, false, 1);
}

RateDecision RedisRateLimiter::Take(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                                    bool consume, double cost) {
  if (limit.unlimited()) return RateDecision{};
  if (up_.load(std::memory_order_acquire)) {
    if (std::optional<RateDecision> shared = TakeShared(bucket, limit, now_ns, consume, cost)) {
      return *shared;
    }
  }
  return TakeDegraded(bucket, limit, now_ns, consume, cost);
}

std::optional<RateDecision> RedisRateLimiter::TakeShared(const BucketId& bucket,
                                                         const RateLimit& limit, int64_t now_ns,
                                                         bool consume, double cost) {
  // The local limiter's arithmetic, in microseconds (TIME's resolution).
  const double burst = std::max(1.0, std::floor(limit.burst));
  const int64_t interval = std::max<int64_t>(1, static_cast<int64_t>(1e6 / limit.rate));
  const int64_t capacity = static_cast<int64_t>(burst) * interval;
  const int64_t step =
      static_cast<int64_t>(static_cast<double>(interval) * std::clamp(cost, 1.0, burst));
  const std::string key = fmt::format("{}{}{:016x}{:016x}", options_.key_prefix,
                                      KindLetter(bucket.kind), bucket.hi, bucket.lo);
  const std::string now = options_.server_time ? std::string() : std::to_string(now_ns / 1000);
  const std::string step_text = std::to_string(step);
  const std::string capacity_text = std::to_string(capacity);
  const std::vector<std::string_view> eval = {
      "EVALSHA", script_sha_, "1", key, now, step_text, capacity_text, consume ? "1" : "0"};

  std::string error;
  std::unique_ptr<RedisConnection> connection = pool_.Take(&error);
  if (connection == nullptr) {
    Failed(error, /*connection_lost=*/true);
    return std::nullopt;
  }
  RedisReplyPtr reply = connection->Command(eval, &error);
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
      std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
    // Redis restarted or its scripts were flushed: load it, then again.
    reply = connection->Command({"SCRIPT", "LOAD", kScript}, &error);
    if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
      reply = connection->Command(eval, &error);
    }
  }
  if (reply == nullptr) {
    Failed(error, /*connection_lost=*/true);
    return std::nullopt;
  }
  pool_.Give(std::move(connection));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER ||
      reply->element[1]->type != REDIS_REPLY_INTEGER) {
    // Redis answers but not as the script does (out of memory, a replica,
    // a foreign key of the same name): this decision follows the policy.
    Failed(reply->type == REDIS_REPLY_ERROR ? fmt::format("Redis refused the rate-limit script: {}",
                                                          std::string_view(reply->str, reply->len))
                                            : "unexpected reply to the rate-limit script",
           /*connection_lost=*/false);
    return std::nullopt;
  }
  const bool allowed = reply->element[0]->integer == 1;
  const int64_t tat = reply->element[1]->integer;  // TAT - now, before this request
  RateDecision decision;
  decision.limit = static_cast<int64_t>(burst);
  if (!allowed) {
    decision.allowed = false;
    decision.retry_after_s = static_cast<double>(tat + step - capacity) / 1e6;
    decision.reset_s = static_cast<double>(tat) / 1e6;
    return decision;
  }
  const int64_t after = consume ? tat + step : tat;
  decision.remaining = (capacity - after) / interval;
  decision.reset_s = static_cast<double>(after) / 1e6;
  return decision;
}

RateDecision RedisRateLimiter::TakeDegraded(const BucketId& bucket, const RateLimit& limit,
                                            int64_t now_ns, bool consume, double cost) {
  if (degraded_metric_ != nullptr) degraded_metric_->Inc();
  if (options_.down_policy == RedisDownPolicy::kClosed) {
    RateDecision decision;
    decision.allowed = false;
    decision.unavailable = true;
    decision.limit = static_cast<int64_t>(std::max(1.0, std::floor(limit.burst)));
    decision.retry_after_s = options_.unavailable_retry_after_s;
    decision.reset_s = options_.unavailable_retry_after_s;
    return decision;
  }
  // This instance's share of the cluster's limit.
  const double n = static_cast<double>(std::max<int64_t>(1, options_.instances));
  const RateLimit share{limit.rate / n, std::max(1.0, std::floor(limit.burst / n))};
  return consume ? fallback_.Acquire(bucket, share, now_ns, cost)
                 : fallback_.Peek(bucket, share, now_ns);
}

void RedisRateLimiter::Failed(const std::string& error, bool connection_lost) {
  const uint64_t errors = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (errors_metric_ != nullptr) errors_metric_->Inc();
  const bool was_up = connection_lost && up_.exchange(false, std::memory_order_acq_rel);
  if (was_up) {
    pool_.Reset();
    if (up_metric_ != nullptr) up_metric_->Set(0);
    // Through the mutex, so that the thread cannot miss the change between
    // testing up_ and waiting.
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  }
  // Once per interval, whatever the request rate.
  const int64_t now = SteadyNowNs();
  int64_t last = last_log_ns_.load(std::memory_order_relaxed);
  const int64_t interval =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.log_interval).count();
  if (now - last < interval || !last_log_ns_.compare_exchange_strong(last, now)) return;
  const uint64_t since = errors - errors_at_last_log_.exchange(errors);
  AppLog()->warn(
      "rate limiter: {} ({} Redis errors since the last message); {}", error, since,
      up_.load(std::memory_order_acquire)
          ? std::string("still using Redis")
          : fmt::format("rate limits follow security.rate_limit_redis_down_policy = {} until "
                        "Redis at {} answers again",
                        PolicyName(options_.down_policy), options_.endpoint.Describe()));
}

bool RedisRateLimiter::Connect(std::string* error) {
  std::unique_ptr<RedisConnection> connection = pool_.Take(error);
  if (connection == nullptr) return false;
  const RedisReplyPtr reply = connection->Command({"SCRIPT", "LOAD", kScript}, error);
  if (reply == nullptr) return false;
  if (reply->type != REDIS_REPLY_STRING) {
    *error =
        reply->type == REDIS_REPLY_ERROR
            ? fmt::format("Redis at {} refused to load the rate-limit script: {}",
                          options_.endpoint.Describe(), std::string_view(reply->str, reply->len))
            : "unexpected reply to SCRIPT LOAD";
    return false;
  }
  pool_.Give(std::move(connection));
  return true;
}

void RedisRateLimiter::SetUp(bool up) {
  up_.store(up, std::memory_order_release);
  if (up_metric_ != nullptr) up_metric_->Set(up ? 1 : 0);
}

void RedisRateLimiter::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (up_.load(std::memory_order_acquire)) {
      backoff = options_.min_backoff;
      cv_.wait(lock, [this] { return stopping_ || !up_.load(std::memory_order_acquire); });
      continue;
    }
    if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) break;
    lock.unlock();
    std::string error;
    const bool connected = Connect(&error);
    if (connected) {
      SetUp(true);
      AppLog()->info("rate limiter: Redis at {} answers again; rate limits are shared again",
                     options_.endpoint.Describe());
    } else {
      Failed(error, /*connection_lost=*/false);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    lock.lock();
  }
}

}  // namespace chatbot::security
