// Training the USE intent model: encode every text once with the pretrained
// encoder (it stays fixed), fit the head (use_head.h) on the embeddings and
// n-grams, choose the temperature and the out-of-scope threshold by k-fold
// cross-validation on the training part (out-of-fold scores, as the SVM
// trainer does, so the threshold's promised cost holds on unseen data),
// score the model on the held-out data, which took no part in any choice,
// and, as the SVM does, refit the head on training and held-out examples
// together with that calibration.
//
// Deterministic for a seed (the SVM solver's permutations and the folds).
#ifndef CHATBOT_NLU_USE_TRAINER_H_
#define CHATBOT_NLU_USE_TRAINER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nlu/calibration.h"
#include "nlu/evaluation.h"
#include "nlu/use_intent_model.h"

namespace chatbot::nlu {

struct UseTrainingOptions {
  std::filesystem::path encoder;  // an imported encoder directory (use_encoder_files.h)
  UseHeadOptions head;
  double validation_fraction = 0.1;  // used only without validation data
  // Folds of the cross-validation that chooses temperature and threshold
  // (fewer when the data has fewer examples; below 2, the held-out data
  // chooses them).
  int threshold_folds = 5;
  bool refit_with_validation = true;
  double oos_max_in_scope_loss = 0.01;
  int smoke_examples_per_intent = 3;
  uint64_t seed = 42;
};

struct UseTrainingResult {
  std::unique_ptr<UseIntentModel> model;
  // The head the held-out metrics were measured on, when the model was
  // refitted afterwards (else null: `model` is that head); the ensemble is
  // calibrated with it.
  std::shared_ptr<const UseIntentModel> scored_model;
  EvaluationReport heldout;  // with the threshold applied, before the refit
  // The threshold's choice on the out-of-fold scores (or on the held-out
  // data when folds is 0).
  ThresholdChoice cross_validated;
  int folds = 0;
  std::vector<TrainingExample> heldout_examples;
  std::vector<TrainingExample> smoke_examples;
  bool heldout_from_split = false;
  bool refitted = false;
  double seconds = 0;
  double encode_seconds = 0;  // of `seconds`, encoding the texts
  std::string data_sha256;
};

// Throws DataError when the data cannot train a model, ModelError when the
// encoder directory does not load.
UseTrainingResult TrainUseModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const UseTrainingOptions& options);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_USE_TRAINER_H_
