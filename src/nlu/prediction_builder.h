// Calibrated probabilities -> IntentPrediction: the one decision rule every
// model (SVM, BERT, ensemble) uses, so that the ranking, the "oos" label and
// the out-of-scope threshold behave the same whichever model answers.
#ifndef CHATBOT_NLU_PREDICTION_BUILDER_H_
#define CHATBOT_NLU_PREDICTION_BUILDER_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nlu/intent_classifier.h"

namespace chatbot::nlu {

// The index of kOutOfScopeLabel in `labels`, or -1 when there is none.
int OutOfScopeIndex(const std::vector<std::string>& labels);

// The index of the most probable label; ties go to the lower index, as in
// BuildPrediction's ranking. -1 for no labels.
int BestIndex(std::span<const float> probabilities);

// True when a prediction whose best label is `best` with probability
// `confidence` is out of scope: the best label is the "oos" label
// (`oos_label`, -1 for none) or the confidence is below `oos_threshold`.
inline bool IsOutOfScope(int best, float confidence, int oos_label, float oos_threshold) {
  return best == oos_label || confidence < oos_threshold;
}

// Ranks `labels` by `probabilities` (same order and length; most probable
// first, ties by index) keeping the best clamp(top_k, 1, labels) entries, and
// decides: the best label, or "oos" when IsOutOfScope. `model` fills
// IntentPrediction::model. Rankings for different top_k are prefixes of one
// another. Throws ModelError when the lengths differ or there are no labels.
IntentPrediction BuildPrediction(std::span<const float> probabilities,
                                 const std::vector<std::string>& labels, int oos_label,
                                 float oos_threshold, int top_k, std::string_view model);

// BuildPrediction for each row of `rows` (texts x labels.size(), row-major).
std::vector<IntentPrediction> BuildPredictions(std::span<const float> rows,
                                               const std::vector<std::string>& labels,
                                               int oos_label, float oos_threshold, int top_k,
                                               std::string_view model);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_PREDICTION_BUILDER_H_
