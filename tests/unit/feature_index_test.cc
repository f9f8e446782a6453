#include "nlu/feature_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

namespace chatbot::nlu {
namespace {

constexpr uint32_t kNotFound = FeatureIndex::kNotFound;
// The value feature_index.h stores the hash 0 under (its kEmptySubstitute).
constexpr uint64_t kZeroSubstitute = 0x9e3779b97f4a7c15ULL;

TEST(FeatureIndexTest, DefaultIndexFindsNothing) {
  const FeatureIndex index;
  EXPECT_EQ(index.Find(0), kNotFound);
  EXPECT_EQ(index.Find(1), kNotFound);
  EXPECT_EQ(index.Find(UINT64_MAX), kNotFound);
  EXPECT_EQ(index.Find(kZeroSubstitute), kNotFound);
}

TEST(FeatureIndexTest, IndexOfNoHashesFindsNothing) {
  const FeatureIndex index(std::vector<uint64_t>{});
  EXPECT_EQ(index.Find(0), kNotFound);
  EXPECT_EQ(index.Find(42), kNotFound);
  EXPECT_EQ(index.Find(kZeroSubstitute), kNotFound);
}

TEST(FeatureIndexTest, FindsEachHashWithItsPosition) {
  const std::vector<uint64_t> hashes = {5, 17, 1ULL << 63, UINT64_MAX, 0x123456789abcdefULL, 2};
  const FeatureIndex index(hashes);
  for (uint32_t i = 0; i < hashes.size(); ++i) EXPECT_EQ(index.Find(hashes[i]), i) << hashes[i];
  const std::vector<uint64_t> absent = {uint64_t{0},      uint64_t{1},    uint64_t{3},
                                        uint64_t{6},      uint64_t{16},   uint64_t{18},
                                        (1ULL << 63) + 1, UINT64_MAX - 1, kZeroSubstitute};
  for (uint64_t other : absent) {
    EXPECT_EQ(index.Find(other), kNotFound) << other;
  }
}

TEST(FeatureIndexTest, CollidingBucketsProbeAndWrapAround) {
  // Up to 8 hashes the table has 16 slots: all of these share the last slot
  // (low bits 1111), so they fill it and wrap around to slots 0, 1, 2...
  const std::vector<uint64_t> hashes = {15, 31, 47, 63, 0xF0F, 1ULL << 40 | 15};
  const FeatureIndex index(hashes);
  for (uint32_t i = 0; i < hashes.size(); ++i) EXPECT_EQ(index.Find(hashes[i]), i) << hashes[i];
  // Same bucket, absent: the probe must run over the cluster and stop.
  EXPECT_EQ(index.Find(79), kNotFound);
  EXPECT_EQ(index.Find(1ULL << 41 | 15), kNotFound);
  // Hashes whose own bucket is inside the wrapped cluster.
  EXPECT_EQ(index.Find(16), kNotFound);
  EXPECT_EQ(index.Find(32 + 1), kNotFound);
}

TEST(FeatureIndexTest, HashZeroIsAnOrdinaryHash) {
  const std::vector<uint64_t> hashes = {7, 0, 16};
  const FeatureIndex index(hashes);
  EXPECT_EQ(index.Find(7), 0u);
  EXPECT_EQ(index.Find(0), 1u);
  EXPECT_EQ(index.Find(16), 2u);
  EXPECT_EQ(index.Find(1), kNotFound);

  const FeatureIndex without_zero(std::vector<uint64_t>{7, 16});
  EXPECT_EQ(without_zero.Find(0), kNotFound);
}

TEST(FeatureIndexTest, HashZeroDoesNotAliasItsSubstitute) {
  const FeatureIndex zero_only(std::vector<uint64_t>{0});
  EXPECT_EQ(zero_only.Find(0), 0u);
  EXPECT_EQ(zero_only.Find(kZeroSubstitute), kNotFound);

  const FeatureIndex both(std::vector<uint64_t>{0, kZeroSubstitute});
  EXPECT_EQ(both.Find(0), 0u);
  EXPECT_EQ(both.Find(kZeroSubstitute), 1u);
}

TEST(FeatureIndexTest, HundredThousandRandomHashes) {
  std::mt19937_64 random(20240601);
  std::unordered_set<uint64_t> seen;
  std::vector<uint64_t> hashes;
  while (hashes.size() < 100000) {
    const uint64_t h = random();
    if (h != 0 && h != kZeroSubstitute && seen.insert(h).second) hashes.push_back(h);
  }
  const FeatureIndex index(hashes);
  size_t wrong = 0;
  for (uint32_t i = 0; i < hashes.size(); ++i) wrong += index.Find(hashes[i]) != i;
  EXPECT_EQ(wrong, 0u);

  size_t false_hits = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t h = random();
    if (seen.count(h) == 0) false_hits += index.Find(h) != kNotFound;
  }
  EXPECT_EQ(false_hits, 0u);

  // Hashes equal in their low bits all land in one bucket: one long probe
  // run (kept short, it is quadratic), every entry still found.
  std::vector<uint64_t> sequential;
  for (uint64_t h = 1; h <= 2000; ++h) sequential.push_back(h << 20);
  const FeatureIndex packed(sequential);
  wrong = 0;
  for (uint32_t i = 0; i < sequential.size(); ++i) wrong += packed.Find(sequential[i]) != i;
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(packed.Find(2001ULL << 20), kNotFound);
  EXPECT_EQ(packed.Find(1), kNotFound);
}

}  // namespace
}  // namespace chatbot::nlu
