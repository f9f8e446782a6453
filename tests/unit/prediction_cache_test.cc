#include "nlu/prediction_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace chatbot::nlu {
namespace {

using ::testing::Optional;

// A prediction whose every field depends on `key`, with `ranking` entries.
IntentPrediction PredictionFor(const std::string& key, size_t ranking = 3) {
  IntentPrediction p;
  p.intent = "intent-" + key;
  p.confidence = 0.5f + 0.01f * static_cast<float>(key.size() % 40);
  p.out_of_scope = key.size() % 2 == 0;
  p.model = "bert";
  for (size_t i = 0; i < ranking; ++i) {
    p.ranking.push_back({key + "#" + std::to_string(i), 0.5f / static_cast<float>(i + 1)});
  }
  return p;
}

MATCHER_P(SamePrediction, expected, "") {
  if (arg.intent != expected.intent || arg.confidence != expected.confidence ||
      arg.out_of_scope != expected.out_of_scope || arg.model != expected.model ||
      arg.ranking.size() != expected.ranking.size()) {
    return false;
  }
  for (size_t i = 0; i < arg.ranking.size(); ++i) {
    if (arg.ranking[i].intent != expected.ranking[i].intent ||
        arg.ranking[i].confidence != expected.ranking[i].confidence) {
      return false;
    }
  }
  return true;
}

TEST(PredictionCacheTest, RankingSizeIsTopKClampedToTheLabels) {
  EXPECT_EQ(RankingSizeFor(3, 10), 3u);
  EXPECT_EQ(RankingSizeFor(0, 10), 1u);
  EXPECT_EQ(RankingSizeFor(-4, 10), 1u);
  EXPECT_EQ(RankingSizeFor(50, 10), 10u);
  EXPECT_EQ(RankingSizeFor(5, 0), 0u);
}

TEST(PredictionCacheTest, ZeroCapacityDisablesIt) {
  PredictionCache cache(0);
  EXPECT_FALSE(cache.enabled());
  cache.Put("hello", PredictionFor("hello"));
  EXPECT_EQ(cache.Get("hello", 1), std::nullopt);
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits + stats.misses + stats.insertions + stats.size, 0u);
  EXPECT_EQ(stats.capacity, 0u);
}

TEST(PredictionCacheTest, ReturnsWhatWasStoredAndCountsHitsAndMisses) {
  PredictionCache cache(10);
  ASSERT_TRUE(cache.enabled());
  EXPECT_EQ(cache.Get("hello", 1), std::nullopt);
  cache.Put("hello", PredictionFor("hello"));
  cache.Put("bye", PredictionFor("bye"));
  EXPECT_THAT(cache.Get("hello", 3), Optional(SamePrediction(PredictionFor("hello"))));
  EXPECT_THAT(cache.Get("bye", 3), Optional(SamePrediction(PredictionFor("bye"))));
  EXPECT_EQ(cache.Get("Hello", 1), std::nullopt);  // keys are exact
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.insertions, 2u);
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.capacity, 10u);
  EXPECT_DOUBLE_EQ(stats.hit_rate(), 0.5);
}

TEST(PredictionCacheTest, AnswersShorterRankingsAndMissesLongerOnes) {
  PredictionCache cache(10);
  cache.Put("hello", PredictionFor("hello", 3));
  const std::optional<IntentPrediction> two = cache.Get("hello", 2);
  ASSERT_TRUE(two.has_value());
  ASSERT_EQ(two->ranking.size(), 2u);
  EXPECT_EQ(two->ranking[1].intent, "hello#1");
  EXPECT_EQ(two->intent, "intent-hello");
  EXPECT_EQ(cache.Get("hello", 4), std::nullopt);
  // A longer ranking replaces the entry; a shorter one does not.
  cache.Put("hello", PredictionFor("hello", 5));
  EXPECT_THAT(cache.Get("hello", 5), Optional(SamePrediction(PredictionFor("hello", 5))));
  cache.Put("hello", PredictionFor("hello", 1));
  EXPECT_THAT(cache.Get("hello", 5), Optional(SamePrediction(PredictionFor("hello", 5))));
  EXPECT_EQ(cache.Stats().insertions, 1u);
}

TEST(PredictionCacheTest, EvictsTheLeastRecentlyUsedEntry) {
  PredictionCache cache(3, /*shards=*/1);
  cache.Put("a", PredictionFor("a"));
  cache.Put("b", PredictionFor("b"));
  cache.Put("c", PredictionFor("c"));
  ASSERT_TRUE(cache.Get("a", 1).has_value());  // a is now the most recent; b the least
  cache.Put("d", PredictionFor("d"));
  EXPECT_EQ(cache.Get("b", 1), std::nullopt);
  EXPECT_TRUE(cache.Get("a", 1).has_value());
  EXPECT_TRUE(cache.Get("c", 1).has_value());
  EXPECT_TRUE(cache.Get("d", 1).has_value());
  cache.Put("c", PredictionFor("c"));  // a refresh counts as a use
  cache.Put("e", PredictionFor("e"));  // evicts a (d was read after a)
  EXPECT_EQ(cache.Get("a", 1), std::nullopt);
  EXPECT_TRUE(cache.Get("c", 1).has_value());
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.evictions, 2u);
  EXPECT_EQ(stats.size, 3u);
}

TEST(PredictionCacheTest, NeverHoldsMoreThanItsCapacityAcrossShards) {
  for (size_t capacity : {1u, 5u, 16u, 100u}) {
    PredictionCache cache(capacity);
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "text " + std::to_string(i);
      cache.Put(key, PredictionFor(key));
    }
    const PredictionCacheStats stats = cache.Stats();
    EXPECT_EQ(stats.size, capacity) << capacity;
    EXPECT_EQ(stats.insertions - stats.evictions, stats.size) << capacity;
  }
}

TEST(PredictionCacheTest, ClearDropsEntriesButKeepsCounters) {
  PredictionCache cache(10);
  cache.Put("a", PredictionFor("a"));
  ASSERT_TRUE(cache.Get("a", 1).has_value());
  cache.Clear();
  EXPECT_EQ(cache.Get("a", 1), std::nullopt);
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
}

TEST(PredictionCacheTest, ConcurrentUseKeepsEveryEntryWithItsKey) {
  PredictionCache cache(64);
  constexpr int kThreads = 8;
  constexpr int kOperations = 5000;
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> lookups{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      for (int i = 0; i < kOperations; ++i) {
        const std::string key = "k" + std::to_string(random() % 200);
        if (auto hit = cache.Get(key, 3)) {
          if (hit->intent != "intent-" + key || hit->ranking.size() != 3 ||
              hit->ranking[2].intent != key + "#2") {
            ++wrong;
          }
        } else {
          cache.Put(key, PredictionFor(key));
        }
        ++lookups;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits + stats.misses, lookups.load());
  EXPECT_GT(stats.hits, 0u);
  EXPECT_LE(stats.size, 64u);
}

}  // namespace
}  // namespace chatbot::nlu
