#include "nlu/ngram_features.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace chatbot::nlu {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// A word longer than this contributes character n-grams of its first
// kMaxWordBytes bytes only; real words are far shorter, and the bound keeps
// the per-word offset table on the stack.
constexpr size_t kMaxWordBytes = 64;

// splitmix64's finaliser: FNV-1a alone leaves the low bits poorly mixed, and
// the feature index uses the low bits for its buckets.
inline uint64_t Mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

inline uint64_t HashBytes(uint64_t seed, std::string_view bytes) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

inline bool IsWordByte(unsigned char c) {
  // Bytes >= 0x80 belong to non-ASCII letters after normalisation; treating
  // them as word bytes keeps accented and non-Latin words whole.
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 ||
         (c >= 'A' && c <= 'Z');
}

inline bool IsApostropheAt(std::string_view text, size_t i, size_t* length) {
  if (text[i] == '\'') {
    *length = 1;
    return true;
  }
  // U+2019 RIGHT SINGLE QUOTATION MARK, what phones type for an apostrophe.
  if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xE2 &&
      static_cast<unsigned char>(text[i + 1]) == 0x80 &&
      static_cast<unsigned char>(text[i + 2]) == 0x99) {
    *length = 3;
    return true;
  }
  return false;
}

// One word of the text, with apostrophes removed, in a fixed buffer.
struct Word {
  std::array<char, kMaxWordBytes + 2> padded;  // ' ' + word + ' '
  size_t size = 0;                             // of the word, without padding
  std::string_view view() const { return std::string_view(padded.data() + 1, size); }
  std::string_view padded_view() const { return std::string_view(padded.data(), size + 2); }
};

void AddCharacterNgrams(const Word& word, const NgramOptions& options,
                        std::vector<HashedFeature>* out) {
  const std::string_view padded = word.padded_view();
  // Start offsets of code points, plus the end, so n-grams never split one.
  std::array<uint8_t, kMaxWordBytes + 3> starts;
  size_t points = 0;
  for (size_t i = 0; i < padded.size(); ++i) {
    if ((static_cast<unsigned char>(padded[i]) & 0xC0) != 0x80) starts[points++] = uint8_t(i);
  }
  starts[points] = static_cast<uint8_t>(padded.size());
  const uint64_t seed = Mix(kFnvOffset ^ 0x6368617200000000ULL);  // "char"
  for (int n = options.char_ngram_min; n <= options.char_ngram_max; ++n) {
    if (static_cast<size_t>(n) >= points) {
      // Like scikit-learn: a padded word shorter than n counts once, whole.
      out->push_back({Mix(HashBytes(seed, padded)), FeatureFamily::kCharacter});
      break;
    }
    for (size_t first = 0; first + n <= points; ++first) {
      const std::string_view gram =
          padded.substr(starts[first], starts[first + n] - starts[first]);
      out->push_back({Mix(HashBytes(seed, gram)), FeatureFamily::kCharacter});
    }
  }
}

}  // namespace

void ExtractNgramFeatures(std::string_view text, const NgramOptions& options,
                          std::vector<HashedFeature>* out) {
  const uint64_t word_seed = Mix(kFnvOffset ^ 0x776f726400000000ULL);  // "word"
  // Hashes of the last word_ngram_max - 1 words, for the n-grams that end at
  // the current word.
  std::array<uint64_t, 8> previous{};
  int previous_count = 0;
  const int max_n = std::clamp(options.word_ngram_max, 1, 8);

  Word word;
  size_t i = 0;
  size_t apostrophe = 0;
  while (i < text.size()) {
    if (IsApostropheAt(text, i, &apostrophe)) {
      i += apostrophe;
      continue;
    }
    if (!IsWordByte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    word.padded[0] = ' ';
    word.size = 0;
    while (i < text.size()) {
      if (IsApostropheAt(text, i, &apostrophe)) {
        // Inside a word the apostrophe is dropped; at its edge it ends it.
        size_t next = 0;
        if (i + apostrophe < text.size() &&
            IsWordByte(static_cast<unsigned char>(text[i + apostrophe])) &&
            !IsApostropheAt(text, i + apostrophe, &next)) {
          i += apostrophe;
          continue;
        }
        break;
      }
      const unsigned char lead = static_cast<unsigned char>(text[i]);
      if (!IsWordByte(lead)) break;
      // Copy whole code points only, so a truncated word stays valid UTF-8.
      size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (i + length > text.size()) length = text.size() - i;
      if (word.size + length <= kMaxWordBytes) {
        std::memcpy(word.padded.data() + 1 + word.size, text.data() + i, length);
        word.size += length;
      }
      i += length;
    }
    if (word.size == 0) continue;
    word.padded[1 + word.size] = ' ';

    const uint64_t word_hash = HashBytes(word_seed, word.view());
    out->push_back({Mix(word_hash), FeatureFamily::kWord});
    // n-grams ending here: combine with the previous words' hashes.
    uint64_t gram = word_hash;
    for (int k = 0; k < previous_count && k + 2 <= max_n; ++k) {
      gram = (gram * kFnvPrime) ^ (previous[k] + 0x9e3779b97f4a7c15ULL * (k + 1));
      out->push_back({Mix(gram), FeatureFamily::kWord});
    }
    for (int k = max_n - 2; k > 0; --k) previous[k] = previous[k - 1];
    previous[0] = word_hash;
    if (previous_count < max_n - 1) ++previous_count;

    if (options.char_ngram_max >= options.char_ngram_min && options.char_ngram_min > 0) {
      AddCharacterNgrams(word, options, out);
    }
  }
}

}  // namespace chatbot::nlu
