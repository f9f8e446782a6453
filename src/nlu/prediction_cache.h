// A thread-safe LRU cache from (normalised) input text to the prediction
// made for it.
//
// Chat traffic repeats itself ("hi", "thanks", "where is my order"), and a
// BERT forward pass costs milliseconds, so answering repeats from memory
// saves most of the model's work. The cache is split into shards, each an
// LRU list with its own mutex, so concurrent requests rarely contend; LRU
// order is therefore exact within a shard and approximate across shards.
//
// An entry answers a request when its ranking is at least as long as the
// request needs (rankings for smaller top_k are prefixes of longer ones, see
// prediction_builder.h); it is returned truncated to that length.
//
// A cache belongs to one loaded model: a reload builds a new classifier and
// with it an empty cache, so no answer of an old model outlives it.
#ifndef CHATBOT_NLU_PREDICTION_CACHE_H_
#define CHATBOT_NLU_PREDICTION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nlu/intent_classifier.h"

namespace chatbot::nlu {

// Maps an input text to its cache key. Texts with one key must get one
// prediction, so a key may only erase differences the model ignores (e.g.
// TextNormalizer's case folding for an uncased model). Empty = the text
// itself.
using CacheKeyFunction = std::function<std::string(std::string_view text)>;

// The number of ranking entries a request for `top_k` needs from a model
// with `labels` labels: clamp(top_k, 1, labels).
size_t RankingSizeFor(int top_k, size_t labels);

struct PredictionCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;  // new entries (not refreshes of existing ones)
  uint64_t evictions = 0;   // entries dropped to make room
  size_t size = 0;          // entries held now
  size_t capacity = 0;
  // hits / (hits + misses), 0 before the first lookup.
  double hit_rate() const;
};

class PredictionCache {
 public:
  static constexpr size_t kDefaultShards = 16;

  // Holds at most `capacity` entries (0 = disabled: Get always misses and
  // counts nothing, Put stores nothing), spread over min(shards, capacity)
  // shards.
  explicit PredictionCache(size_t capacity, size_t shards = kDefaultShards);
  ~PredictionCache();
  PredictionCache(const PredictionCache&) = delete;
  PredictionCache& operator=(const PredictionCache&) = delete;

  bool enabled() const { return capacity_ > 0; }
  size_t capacity() const { return capacity_; }

  // The prediction stored under `key` if its ranking has at least
  // `ranking_size` entries, truncated to that many, and marks it recently
  // used. Counts a hit or a miss. Thread-safe.
  std::optional<IntentPrediction> Get(std::string_view key, size_t ranking_size);

  // Stores `prediction` under `key` as the most recently used entry,
  // evicting the shard's least recently used one when full. An entry already
  // there keeps the longer of the two rankings. Thread-safe.
  void Put(std::string_view key, const IntentPrediction& prediction);

  // Drops every entry (the counters stay).
  void Clear();

  PredictionCacheStats Stats() const;

 private:
  struct Shard;
  Shard& ShardFor(std::string_view key) const;

  size_t capacity_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_PREDICTION_CACHE_H_
