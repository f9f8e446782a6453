#include "nlu/use_head.h"

namespace chatbot::nlu {
namespace {

constexpr uint64_t kMagic = 0x3144484553552d42ULL;  // "B-USEHD1"
constexpr int kMaxDimensions = 1 << 16;

}  // namespace

void UseHead::Features(std::string_view text, const float* embedding,
                       std::vector<SparseFeature>* out) const {
  out->clear();
  if (text_features_) vectorizer_.Transform(normalizer_.Normalize(text), out);
  const auto offset = static_cast<uint32_t>(num_text_features());
  for (int k = 0; k < dimensions_; ++k) {
    out->push_back({offset + static_cast<uint32_t>(k), embedding[k]});
  }
}

UseHead UseHead::Fit(const std::vector<std::string>& texts, std::span<const float> embeddings,
                     int dimensions, const std::vector<int>& labels, int classes,
                     const UseHeadOptions& options) {
  UseHead head;
  head.text_features_ = options.text_features;
  head.dimensions_ = dimensions;
  head.normalizer_ = TextNormalizer(options.normalization);
  if (options.text_features) {
    std::vector<std::string> normalized;
    normalized.reserve(texts.size());
    for (const std::string& text : texts) normalized.push_back(head.normalizer_.Normalize(text));
    head.vectorizer_ = TfidfVectorizer::Fit(normalized, options.tfidf);
  }
  std::vector<std::vector<SparseFeature>> rows(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    head.Features(texts[i], embeddings.data() + i * static_cast<size_t>(dimensions), &rows[i]);
  }
  LinearSvmOptions svm;
  svm.c = options.c;
  svm.threads = options.threads;
  svm.seed = options.seed;
  head.svm_ = LinearSvm::Train(rows, labels, classes,
                               head.num_text_features() + static_cast<size_t>(dimensions), svm);
  return head;
}

std::vector<float> UseHead::Scores(std::span<const std::string> texts,
                                   std::span<const float> embeddings) const {
  const auto classes = static_cast<size_t>(num_classes());
  std::vector<float> scores(texts.size() * classes);
  std::vector<SparseFeature> features;
  for (size_t i = 0; i < texts.size(); ++i) {
    Features(texts[i], embeddings.data() + i * static_cast<size_t>(dimensions_), &features);
    svm_.DecisionValues(features, scores.data() + i * classes);
  }
  return scores;
}

void UseHead::Serialize(BinaryWriter* out) const {
  out->Put<uint64_t>(kMagic);
  out->Put<uint8_t>(text_features_ ? 1 : 0);
  out->Put<uint8_t>(normalizer_.options().strip_accents ? 1 : 0);
  out->Put<uint32_t>(static_cast<uint32_t>(dimensions_));
  if (text_features_) vectorizer_.Serialize(out);
  svm_.Serialize(out);
}

UseHead UseHead::Deserialize(BinaryReader* in) {
  if (in->Get<uint64_t>("head signature") != kMagic) {
    in->Fail("head signature", "not a USE head");
  }
  UseHead head;
  head.text_features_ = in->Get<uint8_t>("text feature flag") != 0;
  NormalizationOptions normalization;
  normalization.strip_accents = in->Get<uint8_t>("normalisation flags") != 0;
  head.normalizer_ = TextNormalizer(normalization);
  const uint32_t dimensions = in->Get<uint32_t>("embedding dimensions");
  if (dimensions == 0 || dimensions > kMaxDimensions)
    in->Fail("embedding dimensions", "out of range");
  head.dimensions_ = static_cast<int>(dimensions);
  if (head.text_features_) head.vectorizer_ = TfidfVectorizer::Deserialize(in);
  head.svm_ = LinearSvm::Deserialize(in);
  if (head.svm_.num_features() != head.num_text_features() + dimensions) {
    in->Fail("head", "the SVM has " + std::to_string(head.svm_.num_features()) +
                         " features, not the " + std::to_string(head.num_text_features()) +
                         " n-grams and " + std::to_string(dimensions) + " embedding components");
  }
  return head;
}

}  // namespace chatbot::nlu
