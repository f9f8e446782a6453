#include "security/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/hash.h"

namespace chatbot::security {

BucketId BucketId::ForAddress(Kind kind, const IpAddress& address) {
  BucketId id;
  id.kind = kind;
  std::memcpy(&id.hi, address.bytes().data(), 8);
  std::memcpy(&id.lo, address.bytes().data() + 8, 8);
  return id;
}

size_t LocalRateLimiter::Hash::operator()(const BucketId& b) const {
  // Key ids are random already, addresses are not: mixed twice.
  return static_cast<size_t>(Mix64(b.lo ^ Mix64(b.hi ^ static_cast<uint64_t>(b.kind))));
}

RateDecision LocalRateLimiter::Acquire(const BucketId& bucket, const RateLimit& limit,
                                       int64_t now_ns, double cost) {
  return Take(bucket, limit, now_ns, true, cost);
}

RateDecision LocalRateLimiter::Peek(const BucketId& bucket, const RateLimit& limit,
                                    int64_t now_ns) {
  return Take(bucket, limit, now_ns, false, 1);
}

RateDecision LocalRateLimiter::Take(const BucketId& bucket, const RateLimit& limit, int64_t now_ns,
                                    bool consume, double cost) {
  RateDecision decision;
  if (limit.unlimited()) return decision;
  const double burst = std::max(1.0, std::floor(limit.burst));
  const int64_t interval = std::max<int64_t>(1, static_cast<int64_t>(1e9 / limit.rate));
  const int64_t capacity = static_cast<int64_t>(burst) * interval;  // burst * T
  decision.limit = static_cast<int64_t>(burst);
  // `cost` tokens move TAT by cost * T.
  const int64_t step =
      static_cast<int64_t>(static_cast<double>(interval) * std::clamp(cost, 1.0, burst));

  Shard& shard = shards_[Hash{}(bucket) % shards_.size()];
  std::lock_guard lock(shard.mu);
  auto it = shard.tat.find(bucket);
  const int64_t tat = it == shard.tat.end() ? now_ns : std::max(it->second, now_ns);
  const int64_t next = tat + step;
  if (next - now_ns > capacity) {
    decision.allowed = false;
    decision.remaining = 0;
    decision.retry_after_s = static_cast<double>(next - now_ns - capacity) / 1e9;
    decision.reset_s = static_cast<double>(tat - now_ns) / 1e9;
    return decision;
  }
  const int64_t after = consume ? next : tat;
  decision.remaining = (capacity - (after - now_ns)) / interval;
  decision.reset_s = static_cast<double>(after - now_ns) / 1e9;
  if (!consume) return decision;
  if (it != shard.tat.end()) {
    it->second = next;
    return decision;
  }
  if (shard.tat.size() >= shard.sweep_at) {
    // Full buckets carry no information.
    std::erase_if(shard.tat, [now_ns](const auto& entry) { return entry.second <= now_ns; });
    shard.sweep_at = std::max<size_t>(1024, shard.tat.size() * 2);
  }
  shard.tat.emplace(bucket, next);
  return decision;
}

size_t LocalRateLimiter::size() {
  size_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.tat.size();
  }
  return total;
}

}  // namespace chatbot::security
