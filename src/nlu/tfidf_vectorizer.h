// TF-IDF features over word and character n-grams (see ngram_features.h).
//
// Weights follow scikit-learn's TfidfVectorizer with smooth_idf, so results
// compare with the Python pipelines this service replaces:
//   tf  = count, or 1 + ln(count) when sublinear_tf
//   idf = ln((1 + documents) / (1 + document frequency)) + 1
// Each feature family (word n-grams, character n-grams) is L2-normalised on
// its own and the families are scaled to share the unit norm equally, so long
// words cannot drown the word features just by producing more n-grams.
#ifndef CHATBOT_NLU_TFIDF_VECTORIZER_H_
#define CHATBOT_NLU_TFIDF_VECTORIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/binary_io.h"
#include "nlu/feature_index.h"
#include "nlu/ngram_features.h"

namespace chatbot::nlu {

struct TfidfOptions {
  NgramOptions ngrams;
  int min_df = 1;  // features in fewer training documents are dropped
  bool sublinear_tf = true;
};

struct SparseFeature {
  uint32_t index;
  float value;
};

class TfidfVectorizer {
 public:
  TfidfVectorizer() = default;

  // Learns the vocabulary and idf from already normalised texts.
  static TfidfVectorizer Fit(const std::vector<std::string>& normalized_texts,
                             const TfidfOptions& options);

  // The features of one normalised text, sorted by index. Thread-safe.
  void Transform(std::string_view normalized_text, std::vector<SparseFeature>* out) const;

  size_t num_features() const { return hashes_.size(); }
  const TfidfOptions& options() const { return options_; }

  void Serialize(BinaryWriter* out) const;
  static TfidfVectorizer Deserialize(BinaryReader* in);

 private:
  void BuildIndex();

  TfidfOptions options_;
  std::vector<uint64_t> hashes_;  // feature index -> n-gram hash, ascending
  std::vector<float> idf_;
  std::vector<uint8_t> family_;  // FeatureFamily of each feature
  FeatureIndex index_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TFIDF_VECTORIZER_H_
