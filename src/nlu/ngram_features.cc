#include "nlu/ngram_features.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/hash.h"

namespace chatbot::nlu {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// A word longer than this contributes character n-grams of its first
// kMaxWordBytes bytes only; real words are far shorter, and the bound keeps
// the per-word offset table on the stack.
constexpr size_t kMaxWordBytes = 64;

// FNV-1a; callers finish with Mix64: FNV-1a alone leaves the low bits poorly
// mixed, and the feature index uses the low bits for its buckets.
inline uint64_t HashBytes(uint64_t seed, std::string_view bytes) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// The length in bytes of the code point at text[i] (at least 1, so that
// invalid bytes are stepped over one at a time), and whether it is a word
// character: an ASCII letter or digit, or a non-ASCII letter, mark or number.
// Non-ASCII punctuation and symbols (“ ” « » ¿ — …) separate words like
// their ASCII counterparts.
inline size_t CodePointAt(std::string_view text, size_t i, bool* is_word) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    *is_word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    return 1;
  }
  utf8proc_int32_t point = -1;
  const utf8proc_ssize_t length =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                       static_cast<utf8proc_ssize_t>(text.size() - i), &point);
  if (length <= 0 || point < 0) {
    *is_word = false;
    return 1;
  }
  switch (utf8proc_category(point)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      *is_word = true;
      break;
    default:
      *is_word = false;
  }
  return static_cast<size_t>(length);
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
  const uint64_t seed = Mix64(kFnvOffset ^ 0x6368617200000000ULL);  // "char"
  for (int n = options.char_ngram_min; n <= options.char_ngram_max; ++n) {
    if (static_cast<size_t>(n) >= points) {
      // Like scikit-learn: a padded word shorter than n counts once, whole.
      out->push_back({Mix64(HashBytes(seed, padded)), FeatureFamily::kCharacter});
      break;
    }
    for (size_t first = 0; first + n <= points; ++first) {
      const std::string_view gram = padded.substr(starts[first], starts[first + n] - starts[first]);
      out->push_back({Mix64(HashBytes(seed, gram)), FeatureFamily::kCharacter});
    }
  }
}

}  // namespace

void ExtractNgramFeatures(std::string_view text, const NgramOptions& options,
                          std::vector<HashedFeature>* out) {
  const uint64_t word_seed = Mix64(kFnvOffset ^ 0x776f726400000000ULL);  // "word"
  // Hashes of the last word_ngram_max - 1 words, for the n-grams that end at
  // the current word.
  std::array<uint64_t, 8> previous{};
  int previous_count = 0;
  const int max_n = std::clamp(options.word_ngram_max, 1, 8);

  Word word;
  size_t i = 0;
  size_t apostrophe = 0;
  bool is_word = false;
  while (i < text.size()) {
    if (IsApostropheAt(text, i, &apostrophe)) {
      i += apostrophe;
      continue;
    }
    const size_t first = CodePointAt(text, i, &is_word);
    if (!is_word) {
      i += first;
      continue;
    }
    word.padded[0] = ' ';
    word.size = 0;
    // Once a code point does not fit, the rest of an over-long word is
    // skipped, so the word is its first kMaxWordBytes bytes or fewer.
    bool full = false;
    while (i < text.size()) {
      if (IsApostropheAt(text, i, &apostrophe)) {
        // Inside a word the apostrophe is dropped; at its edge it ends it.
        size_t next = 0;
        bool next_is_word = false;
        if (i + apostrophe < text.size() && !IsApostropheAt(text, i + apostrophe, &next)) {
          CodePointAt(text, i + apostrophe, &next_is_word);
        }
        if (next_is_word) {
          i += apostrophe;
          continue;
        }
        break;
      }
      const size_t length = CodePointAt(text, i, &is_word);
      if (!is_word) break;
      if (!full && word.size + length <= kMaxWordBytes) {
        std::memcpy(word.padded.data() + 1 + word.size, text.data() + i, length);
        word.size += length;
      } else {
        full = true;
      }
      i += length;
    }
    if (word.size == 0) continue;
    word.padded[1 + word.size] = ' ';

    const uint64_t word_hash = HashBytes(word_seed, word.view());
    out->push_back({Mix64(word_hash), FeatureFamily::kWord});
    // n-grams ending here: combine with the previous words' hashes.
    uint64_t gram = word_hash;
    for (int k = 0; k < previous_count && k + 2 <= max_n; ++k) {
      gram = (gram * kFnvPrime) ^ (previous[k] + kGoldenGamma * (k + 1));
      out->push_back({Mix64(gram), FeatureFamily::kWord});
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
