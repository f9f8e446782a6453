// A read-only map from 64-bit feature hashes to dense feature indices.
//
// Open addressing with linear probing over a power-of-two table at most half
// full: a lookup is one multiply-free mask and, almost always, one cache line.
// std::unordered_map would cost a pointer chase per lookup, and a prediction
// does a hundred or more lookups.
#ifndef CHATBOT_NLU_FEATURE_INDEX_H_
#define CHATBOT_NLU_FEATURE_INDEX_H_

#include <cstdint>
#include <vector>

namespace chatbot::nlu {

class FeatureIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  FeatureIndex() = default;
  // `hashes[i]` gets index i. Hashes must be distinct.
  explicit FeatureIndex(const std::vector<uint64_t>& hashes);

  uint32_t Find(uint64_t hash) const {
    if (hash == kEmpty) return zero_index_;
    if (slots_.empty()) return kNotFound;
    for (uint64_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      const Slot& s = slots_[slot];
      if (s.key == hash) return s.index;
      if (s.key == kEmpty) return kNotFound;
    }
  }

 private:
  // Zero marks an empty slot; the (astronomically unlikely) hash zero is
  // kept outside the table.
  static constexpr uint64_t kEmpty = 0;

  struct Slot {
    uint64_t key = kEmpty;
    uint32_t index = kNotFound;
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  uint32_t zero_index_ = kNotFound;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_FEATURE_INDEX_H_
