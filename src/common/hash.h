// Fast non-cryptographic hashing: the splitmix64 finaliser (a bijection
// with good avalanche), for seeds, feature buckets and rate-limit buckets.
// Cryptographic digests are in sha256.h.
#ifndef CHATBOT_COMMON_HASH_H_
#define CHATBOT_COMMON_HASH_H_

#include <cstdint>

namespace chatbot {

// The golden-ratio increment of splitmix64, for spreading small integers.
inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// splitmix64's finaliser.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace chatbot

#endif  // CHATBOT_COMMON_HASH_H_
