#include "nlu/prediction_builder.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

int OutOfScopeIndex(const std::vector<std::string>& labels) {
  const auto oos = std::find(labels.begin(), labels.end(), kOutOfScopeLabel);
  return oos == labels.end() ? -1 : static_cast<int>(oos - labels.begin());
}

int BestIndex(std::span<const float> probabilities) {
  if (probabilities.empty()) return -1;
  // max_element keeps the first of equal maxima: the lower index wins ties.
  return static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) -
                          probabilities.begin());
}

IntentPrediction BuildPrediction(std::span<const float> probabilities,
                                 const std::vector<std::string>& labels, int oos_label,
                                 float oos_threshold, int top_k, std::string_view model) {
  const int classes = static_cast<int>(labels.size());
  if (classes == 0 || probabilities.size() != labels.size()) {
    throw ModelError(std::string(model) + " model: " + std::to_string(probabilities.size()) +
                     " probabilities for " + std::to_string(classes) + " labels");
  }
  const int k = std::clamp(top_k, 1, classes);
  thread_local std::vector<int> order;
  order.resize(classes);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
  });

  IntentPrediction prediction;
  prediction.ranking.reserve(k);
  for (int i = 0; i < k; ++i) {
    prediction.ranking.push_back({labels[order[i]], probabilities[order[i]]});
  }
  const int best = order[0];
  prediction.confidence = probabilities[best];
  prediction.out_of_scope = IsOutOfScope(best, prediction.confidence, oos_label, oos_threshold);
  prediction.intent = prediction.out_of_scope ? kOutOfScopeLabel : labels[best];
  prediction.model = model;
  return prediction;
}

std::vector<IntentPrediction> BuildPredictions(std::span<const float> rows,
                                               const std::vector<std::string>& labels,
                                               int oos_label, float oos_threshold, int top_k,
                                               std::string_view model) {
  const size_t width = labels.size();
  std::vector<IntentPrediction> out;
  if (width == 0) return out;
  out.reserve(rows.size() / width);
  for (size_t begin = 0; begin + width <= rows.size(); begin += width) {
    out.push_back(BuildPrediction(rows.subspan(begin, width), labels, oos_label, oos_threshold,
                                  top_k, model));
  }
  return out;
}

}  // namespace chatbot::nlu
