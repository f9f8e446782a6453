// Training the SVM intent model end to end: held-out split, features, SVM,
// temperature calibration, out-of-scope threshold, held-out metrics.
//
// Held-out data comes from the caller (for example CLINC150's val split) or,
// when none is given, from a stratified split of the training data (intents
// with a single example stay in training). The temperature and the
// out-of-scope threshold are chosen by k-fold cross-validation on the
// training part: every training example is scored by a model that did not
// learn it (out-of-fold scores), so the threshold is chosen on as many
// unseen examples as there are training examples, not on one small split,
// and the in-scope accuracy it may cost (oos_max_in_scope_loss) holds on new
// data too. The model trained on the training part is then scored on the
// held-out data, which took no part in any choice: the recorded metrics,
// the threshold's measured cost included, are an honest estimate. Then,
// because every labelled example makes the model better, the final model is
// refitted on the training and held-out data together, keeping that
// calibration and threshold. (`refit_with_validation = false` keeps the
// first model when the caller gave separate validation data.)
#ifndef CHATBOT_NLU_SVM_TRAINER_H_
#define CHATBOT_NLU_SVM_TRAINER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nlu/calibration.h"
#include "nlu/evaluation.h"
#include "nlu/svm_intent_model.h"

namespace chatbot::nlu {

struct SvmTrainingOptions {
  NormalizationOptions normalization;
  TfidfOptions tfidf;
  LinearSvmOptions svm;
  double validation_fraction = 0.15;  // used only without validation data
  uint64_t seed = 42;
  // In-scope accuracy (fraction) the out-of-scope threshold may cost on the
  // held-out data; see ChooseOutOfScopeThreshold.
  double oos_max_in_scope_loss = 0.01;
  // Folds of the cross-validation that chooses temperature and threshold
  // (fewer when the data has fewer examples; below 2, none is chosen).
  int threshold_folds = 5;
  int smoke_examples_per_intent = 3;
  bool refit_with_validation = true;
};

struct SvmTrainingProgress {
  std::string stage;  // "features", "svm", "cross-validation", "final model"
  int done = 0;
  int total = 0;
  double elapsed_seconds = 0;
};
using SvmProgressCallback = std::function<void(const SvmTrainingProgress&)>;

struct SvmTrainingResult {
  std::unique_ptr<SvmIntentModel> model;
  EvaluationReport heldout;  // the held-out metrics, threshold applied
  // The threshold's choice on the out-of-fold scores: in-scope accuracy
  // with and without it, out-of-scope recall.
  ThresholdChoice cross_validated;
  int folds = 0;  // of that cross-validation (0: none was possible)
  std::vector<TrainingExample> heldout_examples;
  std::vector<TrainingExample> smoke_examples;
  bool heldout_from_split = false;
  bool refitted = false;  // the final model also learned from the held-out data
  size_t training_examples = 0;
  double seconds = 0;
  std::string data_sha256;  // of the training examples, in order
};

// Throws DataError when the data cannot train a model (fewer than two
// intents, for instance).
SvmTrainingResult TrainSvmModel(const std::vector<TrainingExample>& train,
                                const std::vector<TrainingExample>& validation,
                                const SvmTrainingOptions& options,
                                const SvmProgressCallback& progress = {});

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_SVM_TRAINER_H_
