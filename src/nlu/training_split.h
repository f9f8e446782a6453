// How every trainer (SVM, BERT, USE) divides its examples: the sorted
// labels, the training part and the held-out part (the caller's validation
// data, or a stratified split of the training data), and the folds of the
// out-of-fold calibration on the training part. Sharing it makes the
// held-out metrics and the calibration of the models, and so of their
// ensemble, mean the same.
#ifndef CHATBOT_NLU_TRAINING_SPLIT_H_
#define CHATBOT_NLU_TRAINING_SPLIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlu/training_data.h"

namespace chatbot::nlu {

// The distinct intents of `data`, sorted.
std::vector<std::string> SortedLabels(const std::vector<TrainingExample>& data);

// Stratified split: about `fraction` of each intent's examples (never leaving
// fewer than two for training, so an intent with one or two examples is not
// held out) go to the second vector. Deterministic.
void SplitStratified(const std::vector<TrainingExample>& data, double fraction, uint64_t seed,
                     std::vector<TrainingExample>* train, std::vector<TrainingExample>* heldout);

struct TrainingSplit {
  std::vector<std::string> labels;  // SortedLabels of all the training data
  std::vector<TrainingExample> train;
};
// `validation` as the held-out part (`*heldout`) and all of `all_training`
// as the training part; without validation data, SplitStratified
// (`fraction`, `seed`), and `*from_split` says whether it held any out.
// Throws DataError when the data has fewer than two intents.
TrainingSplit SplitForTraining(const std::vector<TrainingExample>& all_training,
                               const std::vector<TrainingExample>& validation, double fraction,
                               uint64_t seed, std::vector<TrainingExample>* heldout,
                               bool* from_split);

// The folds of an out-of-fold calibration of `data`: each scored example is
// scored by a model trained on the other folds. Examples of intents with a
// single example take no part in the scoring (left out, their intent would
// be unknown to the model) and are learned in every fold.
struct CalibrationFolds {
  int folds = 0;                                 // 0: fewer than two were possible
  std::vector<size_t> scored;                    // indices into data
  std::vector<TrainingExample> scored_examples;  // data[scored[j]]
  std::vector<int> fold_of_scored;               // the fold of scored_examples[j]
  std::vector<int> fold_of;                      // per example of data; -1: every fold
};
// Up to `folds` folds (AssignFolds with `seed`), no more than there are
// scored examples.
CalibrationFolds AssignCalibrationFolds(const std::vector<TrainingExample>& data, int folds,
                                        uint64_t seed);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TRAINING_SPLIT_H_
