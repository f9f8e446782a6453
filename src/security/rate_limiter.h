// Rate limiting with token buckets, behind an interface so that a limiter
// shared by several instances (Redis, say) can replace the local one.
//
// A bucket holds `burst` tokens and refills at `rate` tokens per second; a
// request takes one. The local limiter implements this as GCRA (the generic
// cell rate algorithm), which is the same token bucket stored as a single
// number per bucket, the "theoretical arrival time" (TAT): the time at which
// the bucket would be full again. A request at `now` is allowed when
// max(TAT, now) + T - now <= burst * T, with T = 1 / rate, and then moves
// TAT there. No refill timer, no per-bucket pair of fields to keep
// consistent.
//
// Buckets live in 64 shards, each a small hash map behind its own mutex, so
// that threads rarely meet on a lock; a bucket that is full again is the
// same as a missing one, so full buckets are swept out as a shard grows
// (addresses come and go; memory stays bounded by the active ones).
#ifndef CHATBOT_SECURITY_RATE_LIMITER_H_
#define CHATBOT_SECURITY_RATE_LIMITER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "security/ip_network.h"

namespace chatbot::security {

// requests per second and bucket size; rate <= 0 means unlimited.
struct RateLimit {
  double rate = 0;
  double burst = 1;
  bool unlimited() const { return rate <= 0; }
};

// Which bucket: a key, a client address, or an address's failed
// authentications.
struct BucketId {
  enum class Kind : uint8_t { kKey, kAddress, kAuthFailures, kAnyRequest };
  Kind kind = Kind::kKey;
  uint64_t hi = 0;
  uint64_t lo = 0;
  static BucketId ForKey(uint64_t key_id) { return {Kind::kKey, 0, key_id}; }
  static BucketId ForAddress(Kind kind, const IpAddress& address);
  friend bool operator==(const BucketId&, const BucketId&) = default;
};

struct RateDecision {
  bool allowed = true;
  int64_t limit = 0;         // the bucket's size (RateLimit-Limit)
  int64_t remaining = 0;     // whole tokens left after this request (RateLimit-Remaining)
  double reset_s = 0;        // until the bucket is full again (RateLimit-Reset)
  double retry_after_s = 0;  // when refused: until one token is back (Retry-After)
  // Refused because the limiter could not decide (its Redis is down and the
  // policy is closed): 503 rather than 429.
  bool unavailable = false;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes `cost` tokens (an expensive request weighs more than a cheap one)
  // when they are there; a cost above the bucket's size counts as its size,
  // so that such a request is possible at all.
  virtual RateDecision Acquire(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                               double cost = 1) = 0;
  // Whether Acquire would succeed, without taking a token.
  virtual RateDecision Peek(const BucketId& bucket, const RateLimit& limit, int64_t now_ns) = 0;
};

class LocalRateLimiter final : public RateLimiter {
 public:
  LocalRateLimiter() = default;
  RateDecision Acquire(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                       double cost = 1) override;
  RateDecision Peek(const BucketId& bucket, const RateLimit& limit, int64_t now_ns) override;
  // Buckets held (for tests of the sweeping).
  size_t size();

 private:
  struct Hash {
    size_t operator()(const BucketId& b) const;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<BucketId, int64_t, Hash> tat;  // theoretical arrival time, ns
    size_t sweep_at = 1024;                           // sweep when the map reaches this size
  };
  RateDecision Take(const BucketId& bucket, const RateLimit& limit, int64_t now_ns, bool consume,
                    double cost);

  std::array<Shard, 64> shards_;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_RATE_LIMITER_H_
