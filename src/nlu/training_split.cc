#include "nlu/training_split.h"

#include <algorithm>
#include <map>
#include <random>

#include "common/error.h"
#include "nlu/evaluation.h"

namespace chatbot::nlu {

std::vector<std::string> SortedLabels(const std::vector<TrainingExample>& data) {
  std::vector<std::string> labels;
  for (const TrainingExample& e : data) labels.push_back(e.intent);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

void SplitStratified(const std::vector<TrainingExample>& data, double fraction, uint64_t seed,
                     std::vector<TrainingExample>* train, std::vector<TrainingExample>* heldout) {
  std::map<std::string, std::vector<size_t>> by_intent;
  for (size_t i = 0; i < data.size(); ++i) by_intent[data[i].intent].push_back(i);
  std::mt19937_64 random(seed);
  std::vector<bool> held(data.size(), false);
  for (auto& [intent, indices] : by_intent) {
    for (size_t s = 0; s + 1 < indices.size(); ++s) {
      std::swap(indices[s], indices[s + random() % (indices.size() - s)]);
    }
    size_t count = static_cast<size_t>(static_cast<double>(indices.size()) * fraction + 0.5);
    if (indices.size() < count + 2) count = indices.size() > 2 ? indices.size() - 2 : 0;
    for (size_t j = 0; j < count; ++j) held[indices[j]] = true;
  }
  for (size_t i = 0; i < data.size(); ++i) (held[i] ? heldout : train)->push_back(data[i]);
}

TrainingSplit SplitForTraining(const std::vector<TrainingExample>& all_training,
                               const std::vector<TrainingExample>& validation, double fraction,
                               uint64_t seed, std::vector<TrainingExample>* heldout,
                               bool* from_split) {
  TrainingSplit split;
  split.labels = SortedLabels(all_training);
  if (split.labels.size() < 2) {
    throw DataError("training data has " + std::to_string(split.labels.size()) +
                    " intent(s); a classifier needs at least two");
  }
  if (validation.empty()) {
    SplitStratified(all_training, fraction, seed, &split.train, heldout);
    *from_split = !heldout->empty();
  } else {
    split.train = all_training;
    *heldout = validation;
  }
  return split;
}

CalibrationFolds AssignCalibrationFolds(const std::vector<TrainingExample>& data, int folds,
                                        uint64_t seed) {
  CalibrationFolds f;
  std::map<std::string, int> counts;
  for (const TrainingExample& e : data) ++counts[e.intent];
  for (size_t i = 0; i < data.size(); ++i) {
    if (counts[data[i].intent] >= 2) {
      f.scored.push_back(i);
      f.scored_examples.push_back(data[i]);
    }
  }
  const int possible =
      static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(folds, 0)), f.scored.size()));
  if (possible < 2) return f;
  f.folds = possible;
  f.fold_of_scored = AssignFolds(f.scored_examples, possible, seed);
  f.fold_of.assign(data.size(), -1);
  for (size_t j = 0; j < f.scored.size(); ++j) f.fold_of[f.scored[j]] = f.fold_of_scored[j];
  return f;
}

}  // namespace chatbot::nlu
