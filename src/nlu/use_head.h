// The USE intent model's classifier head: a multi-class linear SVM
// (linear_svm.h, one-vs-rest, squared hinge) over the sentence embedding
// and, with `text_features` on, the text's TF-IDF word and character n-grams
// (tfidf_vectorizer.h, as the SVM model uses) in one feature vector. The
// embedding carries what the pretrained encoder knows about meaning; the
// n-grams carry the data set's own words, which a general-purpose encoder
// blurs. Fitted jointly they score better than either alone or than mixing
// two models' probabilities (docs/use-encoder.md has the figures).
#ifndef CHATBOT_NLU_USE_HEAD_H_
#define CHATBOT_NLU_USE_HEAD_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/binary_io.h"
#include "nlu/linear_svm.h"
#include "nlu/text_normalizer.h"
#include "nlu/tfidf_vectorizer.h"

namespace chatbot::nlu {

struct UseHeadOptions {
  bool text_features = true;  // the TF-IDF n-grams beside the embedding
  double c = 0.5;             // the SVM's inverse regularisation strength
  NormalizationOptions normalization;
  TfidfOptions tfidf;
  int threads = 0;  // 0: one per core
  uint64_t seed = 42;
};

class UseHead {
 public:
  UseHead() = default;

  // `texts` and their embeddings (texts.size() rows of `dimensions`
  // floats); labels in [0, classes), every class with an example.
  static UseHead Fit(const std::vector<std::string>& texts, std::span<const float> embeddings,
                     int dimensions, const std::vector<int>& labels, int classes,
                     const UseHeadOptions& options);

  // Decision values, texts.size() rows of num_classes(). Thread-safe.
  std::vector<float> Scores(std::span<const std::string> texts,
                            std::span<const float> embeddings) const;

  int num_classes() const { return svm_.num_classes(); }
  int dimensions() const { return dimensions_; }
  bool text_features() const { return text_features_; }
  // The n-gram features (0 without text features).
  size_t num_text_features() const { return text_features_ ? vectorizer_.num_features() : 0; }

  void Serialize(BinaryWriter* out) const;
  // Throws ModelError (through `in`) on a damaged or inconsistent head.
  static UseHead Deserialize(BinaryReader* in);

 private:
  // The n-grams of `text` (indices below num_text_features()), then the
  // embedding's components.
  void Features(std::string_view text, const float* embedding,
                std::vector<SparseFeature>* out) const;

  bool text_features_ = false;
  int dimensions_ = 0;
  TextNormalizer normalizer_;
  TfidfVectorizer vectorizer_;
  LinearSvm svm_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_USE_HEAD_H_
