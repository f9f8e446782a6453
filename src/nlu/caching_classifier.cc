#include "nlu/caching_classifier.h"

#include "common/error.h"

namespace chatbot::nlu {

CachingClassifier::CachingClassifier(std::shared_ptr<const IntentClassifier> model, size_t capacity,
                                     CacheKeyFunction key)
    : model_(std::move(model)), key_(std::move(key)), cache_(capacity) {
  if (!model_) throw ModelError("caching classifier: no model to wrap");
}

IntentPrediction CachingClassifier::Predict(std::string_view text, int top_k) const {
  if (!cache_.enabled()) return model_->Predict(text, top_k);
  const std::string key = Key(text);
  if (auto hit = cache_.Get(key, RankingSizeFor(top_k, labels().size()))) return std::move(*hit);
  IntentPrediction prediction = model_->Predict(text, top_k);
  cache_.Put(key, prediction);
  return prediction;
}

std::vector<IntentPrediction> CachingClassifier::PredictBatch(std::span<const std::string> texts,
                                                              int top_k) const {
  if (!cache_.enabled()) return model_->PredictBatch(texts, top_k);
  const size_t ranking = RankingSizeFor(top_k, labels().size());
  std::vector<IntentPrediction> predictions(texts.size());
  std::vector<std::string> keys(texts.size());
  std::vector<size_t> misses;
  std::vector<std::string> miss_texts;
  for (size_t i = 0; i < texts.size(); ++i) {
    keys[i] = Key(texts[i]);
    if (auto hit = cache_.Get(keys[i], ranking)) {
      predictions[i] = std::move(*hit);
    } else {
      misses.push_back(i);
      miss_texts.push_back(texts[i]);
    }
  }
  if (misses.empty()) return predictions;
  std::vector<IntentPrediction> computed = model_->PredictBatch(miss_texts, top_k);
  if (computed.size() != misses.size()) {
    throw ModelError(std::string(model_->kind()) + " model: PredictBatch answered " +
                     std::to_string(computed.size()) + " of " + std::to_string(misses.size()) +
                     " texts");
  }
  for (size_t j = 0; j < misses.size(); ++j) {
    cache_.Put(keys[misses[j]], computed[j]);
    predictions[misses[j]] = std::move(computed[j]);
  }
  return predictions;
}

}  // namespace chatbot::nlu
