#include "nlu/feature_index.h"

#include <algorithm>
#include <bit>

namespace chatbot::nlu {

FeatureIndex::FeatureIndex(const std::vector<uint64_t>& hashes) {
  const uint64_t capacity = std::bit_ceil(std::max<uint64_t>(16, hashes.size() * 2));
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (uint32_t i = 0; i < hashes.size(); ++i) {
    const uint64_t key = hashes[i];
    if (key == kEmpty) {
      zero_index_ = i;
      continue;
    }
    uint64_t slot = key & mask_;
    while (slots_[slot].key != kEmpty) slot = (slot + 1) & mask_;
    slots_[slot] = Slot{key, i};
  }
}

}  // namespace chatbot::nlu
