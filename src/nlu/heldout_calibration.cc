#include "nlu/heldout_calibration.h"

#include <algorithm>
#include <map>

#include "common/sha256.h"

namespace chatbot::nlu {

HeldOutCalibration CalibrateOnHeldOut(const std::vector<float>& scores,
                                      const std::vector<std::string>& labels,
                                      const std::vector<TrainingExample>& heldout,
                                      double max_in_scope_loss) {
  const int classes = static_cast<int>(labels.size());
  std::map<std::string, int> label_index;
  for (int k = 0; k < classes; ++k) label_index[labels[k]] = k;
  std::vector<float> known_scores;
  std::vector<int> known_labels;
  for (size_t i = 0; i < heldout.size(); ++i) {
    if (auto it = label_index.find(heldout[i].intent); it != label_index.end()) {
      const float* row = scores.data() + i * classes;
      known_scores.insert(known_scores.end(), row, row + classes);
      known_labels.push_back(it->second);
    }
  }
  HeldOutCalibration result;
  result.temperature = FitTemperature(known_scores, classes, known_labels);

  std::vector<HeldOutOutcome> outcomes;
  std::vector<float> probabilities(classes);
  for (size_t i = 0; i < heldout.size(); ++i) {
    Softmax(scores.data() + i * classes, classes, result.temperature, probabilities.data());
    const int best = static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) -
                                      probabilities.begin());
    const std::string& expected = heldout[i].intent;
    outcomes.push_back({probabilities[best], expected == kOutOfScopeLabel,
                        labels[best] == kOutOfScopeLabel, labels[best] == expected});
  }
  result.threshold = ChooseOutOfScopeThreshold(outcomes, max_in_scope_loss);
  return result;
}

std::string TrainingDataSha256(const std::vector<TrainingExample>& examples) {
  Sha256 hash;
  for (const TrainingExample& e : examples) {
    hash.Update(e.text);
    hash.Update("\t");
    hash.Update(e.intent);
    hash.Update("\n");
  }
  return hash.FinishHex();
}

std::vector<TrainingExample> SmokeExamples(const std::vector<TrainingExample>& examples,
                                           int per_intent) {
  std::vector<TrainingExample> smoke;
  std::map<std::string, int> taken;
  for (const TrainingExample& e : examples) {
    if (taken[e.intent]++ < per_intent) smoke.push_back(e);
  }
  return smoke;
}

}  // namespace chatbot::nlu
