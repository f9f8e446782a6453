// A prediction cache (prediction_cache.h) in front of any classifier, for
// models that are not behind a BatchingClassifier (which has its own): the
// ensemble, whose answers combine two models and are worth keeping whole.
// Probabilities pass through uncached.
#ifndef CHATBOT_NLU_CACHING_CLASSIFIER_H_
#define CHATBOT_NLU_CACHING_CLASSIFIER_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nlu/intent_classifier.h"
#include "nlu/prediction_cache.h"

namespace chatbot::nlu {

class CachingClassifier final : public IntentClassifier {
 public:
  // Throws ModelError for a null model.
  CachingClassifier(std::shared_ptr<const IntentClassifier> model, size_t capacity,
                    CacheKeyFunction key = {});

  IntentPrediction Predict(std::string_view text, int top_k) const override;
  // The misses go to the model in one PredictBatch call.
  std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                             int top_k) const override;
  std::vector<float> Probabilities(std::string_view text) const override {
    return model_->Probabilities(text);
  }
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override {
    return model_->ProbabilitiesBatch(texts);
  }

  std::string_view kind() const override { return model_->kind(); }
  std::string version() const override { return model_->version(); }
  const std::vector<std::string>& labels() const override { return model_->labels(); }
  float out_of_scope_threshold() const override { return model_->out_of_scope_threshold(); }

  const IntentClassifier& model() const { return *model_; }
  PredictionCacheStats Stats() const { return cache_.Stats(); }

 private:
  std::string Key(std::string_view text) const { return key_ ? key_(text) : std::string(text); }

  std::shared_ptr<const IntentClassifier> model_;
  CacheKeyFunction key_;
  mutable PredictionCache cache_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_CACHING_CLASSIFIER_H_
