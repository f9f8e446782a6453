#include "nlu/prediction_cache.h"

#include <algorithm>
#include <list>
#include <mutex>
#include <unordered_map>

namespace chatbot::nlu {

size_t RankingSizeFor(int top_k, size_t labels) {
  if (labels == 0) return 0;
  return std::clamp<size_t>(top_k < 1 ? 1 : static_cast<size_t>(top_k), 1, labels);
}

double PredictionCacheStats::hit_rate() const {
  const uint64_t lookups = hits + misses;
  return lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0;
}

struct alignas(64) PredictionCache::Shard {
  struct Entry {
    std::string key;
    IntentPrediction prediction;
  };

  std::mutex mutex;
  size_t capacity = 0;
  std::list<Entry> lru;  // most recently used first
  // Keys view the strings inside `lru`'s nodes, which never move.
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;
  uint64_t evictions = 0;
};

PredictionCache::PredictionCache(size_t capacity, size_t shards)
    : capacity_(capacity),
      shard_count_(capacity == 0 ? 0 : std::clamp<size_t>(shards, 1, capacity)),
      shards_(shard_count_ ? std::make_unique<Shard[]>(shard_count_) : nullptr) {
  // The capacity split as evenly as possible; the total is exactly `capacity`.
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity = capacity / shard_count_ + (i < capacity % shard_count_ ? 1 : 0);
    shards_[i].index.reserve(shards_[i].capacity);
  }
}

PredictionCache::~PredictionCache() = default;

PredictionCache::Shard& PredictionCache::ShardFor(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % shard_count_];
}

std::optional<IntentPrediction> PredictionCache::Get(std::string_view key, size_t ranking_size) {
  if (!enabled()) return std::nullopt;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end() || it->second->prediction.ranking.size() < ranking_size) {
    ++shard.misses;
    return std::nullopt;
  }
  ++shard.hits;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  const IntentPrediction& cached = it->second->prediction;
  IntentPrediction result;
  result.intent = cached.intent;
  result.confidence = cached.confidence;
  result.out_of_scope = cached.out_of_scope;
  result.ranking.assign(cached.ranking.begin(), cached.ranking.begin() + ranking_size);
  result.model = cached.model;
  return result;
}

void PredictionCache::Put(std::string_view key, const IntentPrediction& prediction) {
  if (!enabled()) return;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  if (const auto it = shard.index.find(key); it != shard.index.end()) {
    if (prediction.ranking.size() > it->second->prediction.ranking.size()) {
      it->second->prediction = prediction;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  if (shard.lru.size() >= shard.capacity) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
    ++shard.evictions;
  }
  shard.lru.push_front({std::string(key), prediction});
  shard.index.emplace(shard.lru.front().key, shard.lru.begin());
  ++shard.insertions;
}

void PredictionCache::Clear() {
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    shards_[i].index.clear();
    shards_[i].lru.clear();
  }
}

PredictionCacheStats PredictionCache::Stats() const {
  PredictionCacheStats stats;
  stats.capacity = capacity_;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    stats.hits += shards_[i].hits;
    stats.misses += shards_[i].misses;
    stats.insertions += shards_[i].insertions;
    stats.evictions += shards_[i].evictions;
    stats.size += shards_[i].lru.size();
  }
  return stats;
}

}  // namespace chatbot::nlu
