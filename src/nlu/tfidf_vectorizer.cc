#include "nlu/tfidf_vectorizer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

namespace chatbot::nlu {
namespace {

// Upper bound on a plausible vocabulary, to refuse damaged files early.
constexpr uint64_t kMaxFeatures = 1ULL << 26;

struct FeatureStats {
  uint32_t document_frequency = 0;
  uint8_t family = 0;
};

}  // namespace

TfidfVectorizer TfidfVectorizer::Fit(const std::vector<std::string>& texts,
                                     const TfidfOptions& options) {
  std::unordered_map<uint64_t, FeatureStats> stats;
  stats.reserve(texts.size() * 16);
  std::vector<HashedFeature> grams;
  for (const std::string& text : texts) {
    grams.clear();
    ExtractNgramFeatures(text, options.ngrams, &grams);
    std::sort(grams.begin(), grams.end(),
              [](const HashedFeature& a, const HashedFeature& b) { return a.hash < b.hash; });
    for (size_t i = 0; i < grams.size(); ++i) {
      if (i > 0 && grams[i].hash == grams[i - 1].hash) continue;  // once per document
      FeatureStats& s = stats[grams[i].hash];
      ++s.document_frequency;
      s.family = static_cast<uint8_t>(grams[i].family);
    }
  }

  std::vector<std::pair<uint64_t, FeatureStats>> kept;
  kept.reserve(stats.size());
  for (const auto& [hash, s] : stats) {
    if (s.document_frequency >= static_cast<uint32_t>(std::max(1, options.min_df))) {
      kept.emplace_back(hash, s);
    }
  }
  // Sorted by hash: the model file is the same for the same data, whatever
  // the hash table's iteration order.
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  TfidfVectorizer v;
  v.options_ = options;
  const double documents = static_cast<double>(texts.size());
  for (const auto& [hash, s] : kept) {
    v.hashes_.push_back(hash);
    v.idf_.push_back(
        static_cast<float>(std::log((1.0 + documents) / (1.0 + s.document_frequency)) + 1.0));
    v.family_.push_back(s.family);
  }
  v.BuildIndex();
  return v;
}

void TfidfVectorizer::BuildIndex() {
  index_ = FeatureIndex(hashes_);
}

void TfidfVectorizer::Transform(std::string_view text, std::vector<SparseFeature>* out) const {
  // Scratch space reused across calls on the same thread: the prediction
  // path allocates nothing once warm.
  thread_local std::vector<HashedFeature> grams;
  grams.clear();
  ExtractNgramFeatures(text, options_.ngrams, &grams);

  out->clear();
  for (const HashedFeature& gram : grams) {
    const uint32_t index = index_.Find(gram.hash);
    if (index != FeatureIndex::kNotFound) out->push_back({index, 1.0f});
  }
  std::sort(out->begin(), out->end(),
            [](const SparseFeature& a, const SparseFeature& b) { return a.index < b.index; });

  // Merge repeated features into counts, then weight.
  std::array<double, kFeatureFamilies> norms{};
  size_t kept = 0;
  for (size_t i = 0; i < out->size();) {
    const uint32_t index = (*out)[i].index;
    float count = 0;
    while (i < out->size() && (*out)[i].index == index) {
      count += 1.0f;
      ++i;
    }
    const float tf = options_.sublinear_tf ? 1.0f + std::log(count) : count;
    const float value = tf * idf_[index];
    norms[family_[index]] += static_cast<double>(value) * value;
    (*out)[kept++] = {index, value};
  }
  out->resize(kept);

  int present = 0;
  for (double n : norms) present += n > 0;
  if (present == 0) return;
  std::array<float, kFeatureFamilies> scale{};
  for (int f = 0; f < kFeatureFamilies; ++f) {
    scale[f] = norms[f] > 0 ? static_cast<float>(1.0 / std::sqrt(norms[f] * present)) : 0.0f;
  }
  for (SparseFeature& feature : *out) feature.value *= scale[family_[feature.index]];
}

void TfidfVectorizer::Serialize(BinaryWriter* out) const {
  out->Put<int32_t>(options_.ngrams.word_ngram_max);
  out->Put<int32_t>(options_.ngrams.char_ngram_min);
  out->Put<int32_t>(options_.ngrams.char_ngram_max);
  out->Put<int32_t>(options_.min_df);
  out->Put<uint8_t>(options_.sublinear_tf ? 1 : 0);
  out->PutArray(hashes_);
  out->PutArray(idf_);
  out->PutArray(family_);
}

TfidfVectorizer TfidfVectorizer::Deserialize(BinaryReader* in) {
  TfidfVectorizer v;
  v.options_.ngrams.word_ngram_max = in->Get<int32_t>("word n-gram size");
  v.options_.ngrams.char_ngram_min = in->Get<int32_t>("character n-gram minimum");
  v.options_.ngrams.char_ngram_max = in->Get<int32_t>("character n-gram maximum");
  v.options_.min_df = in->Get<int32_t>("minimum document frequency");
  v.options_.sublinear_tf = in->Get<uint8_t>("sublinear tf flag") != 0;
  const NgramOptions& n = v.options_.ngrams;
  if (n.word_ngram_max < 1 || n.word_ngram_max > 8 || n.char_ngram_min < 1 ||
      n.char_ngram_max > 16 || n.char_ngram_min > n.char_ngram_max + 1) {
    in->Fail("n-gram options", "out of range");
  }
  v.hashes_ = in->GetArray<uint64_t>("feature hashes", kMaxFeatures);
  v.idf_ = in->GetArray<float>("idf weights", kMaxFeatures);
  v.family_ = in->GetArray<uint8_t>("feature families", kMaxFeatures);
  if (v.idf_.size() != v.hashes_.size() || v.family_.size() != v.hashes_.size()) {
    in->Fail("vocabulary", "arrays of different lengths");
  }
  for (uint8_t f : v.family_) {
    if (f >= kFeatureFamilies) in->Fail("feature families", "unknown family");
  }
  if (!std::is_sorted(v.hashes_.begin(), v.hashes_.end()) ||
      std::adjacent_find(v.hashes_.begin(), v.hashes_.end()) != v.hashes_.end()) {
    in->Fail("feature hashes", "not strictly ascending");
  }
  v.BuildIndex();
  return v;
}

}  // namespace chatbot::nlu
