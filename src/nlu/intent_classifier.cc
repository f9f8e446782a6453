#include "nlu/intent_classifier.h"

#include <string>
#include <unordered_map>

#include "common/error.h"

namespace chatbot::nlu {

std::vector<IntentPrediction> IntentClassifier::PredictBatch(std::span<const std::string> texts,
                                                             int top_k) const {
  std::vector<IntentPrediction> predictions;
  predictions.reserve(texts.size());
  for (const std::string& text : texts) predictions.push_back(Predict(text, top_k));
  return predictions;
}

std::vector<float> IntentClassifier::Probabilities(std::string_view text) const {
  const std::vector<std::string>& names = labels();
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  std::vector<float> probabilities(names.size(), 0.0f);
  const IntentPrediction full = Predict(text, static_cast<int>(names.size()));
  for (const RankedIntent& r : full.ranking) {
    const auto it = index.find(r.intent);
    if (it == index.end()) {
      throw ModelError(std::string(kind()) + " model: predicted label \"" + r.intent +
                       "\" is not one of its labels");
    }
    probabilities[it->second] = r.confidence;
  }
  return probabilities;
}

std::vector<float> IntentClassifier::ProbabilitiesBatch(std::span<const std::string> texts) const {
  const size_t classes = labels().size();
  std::vector<float> rows;
  rows.reserve(texts.size() * classes);
  for (const std::string& text : texts) {
    const std::vector<float> row = Probabilities(text);
    if (row.size() != classes) {
      throw ModelError(std::string(kind()) + " model: " + std::to_string(row.size()) +
                       " probabilities for " + std::to_string(classes) + " labels");
    }
    rows.insert(rows.end(), row.begin(), row.end());
  }
  return rows;
}

}  // namespace chatbot::nlu
