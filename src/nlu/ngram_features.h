// N-gram feature extraction for the TF-IDF vectoriser.
//
// A normalised text is split into words (runs of letters and digits; an
// apostrophe inside a word is dropped so "don't" and "dont" agree), and each
// text yields three families of features:
//   - word n-grams of 1..word_ngram_max words,
//   - character n-grams of char_ngram_min..char_ngram_max code points taken
//     inside word boundaries: each word padded with a space on both sides, as
//     scikit-learn's "char_wb" analyser does, so that typos and inflections
//     still share most features with the correct word.
// Features are identified by 64-bit hashes of their text (with the family
// mixed in) rather than strings: no allocation per n-gram on the prediction
// path, and a vocabulary of 100k features costs 800 KB. With 64 bits the
// chance of any collision among a million features is about 3e-8.
#ifndef CHATBOT_NLU_NGRAM_FEATURES_H_
#define CHATBOT_NLU_NGRAM_FEATURES_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace chatbot::nlu {

struct NgramOptions {
  int word_ngram_max = 2;
  int char_ngram_min = 2;
  int char_ngram_max = 4;
};

enum class FeatureFamily : uint8_t { kWord = 0, kCharacter = 1 };
inline constexpr int kFeatureFamilies = 2;

struct HashedFeature {
  uint64_t hash;
  FeatureFamily family;
};

// Appends the features of `normalized_text` to `out` (one entry per
// occurrence; the caller counts). Never allocates once `out` has capacity.
void ExtractNgramFeatures(std::string_view normalized_text, const NgramOptions& options,
                          std::vector<HashedFeature>* out);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_NGRAM_FEATURES_H_
