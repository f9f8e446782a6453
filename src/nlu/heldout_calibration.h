// What every trainer does after fitting, whatever the model: fit the softmax
// temperature on held-out decision values, choose the out-of-scope threshold
// on the calibrated held-out predictions, and fingerprint the training data.
// Sharing it makes "calibrated" and "threshold" mean the same for the SVM and
// BERT (and so for their ensemble).
#ifndef CHATBOT_NLU_HELDOUT_CALIBRATION_H_
#define CHATBOT_NLU_HELDOUT_CALIBRATION_H_

#include <string>
#include <vector>

#include "nlu/calibration.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

struct HeldOutCalibration {
  float temperature = 1;
  ThresholdChoice threshold;
};

// `scores` holds heldout.size() rows of labels.size() decision values (logits
// for BERT). The temperature is fitted on the examples whose intent is one
// of `labels`; the threshold on all of them (see ChooseOutOfScopeThreshold).
HeldOutCalibration CalibrateOnHeldOut(const std::vector<float>& scores,
                                      const std::vector<std::string>& labels,
                                      const std::vector<TrainingExample>& heldout,
                                      double max_in_scope_loss);

// SHA-256 of the examples' texts and intents, in order: identifies the data
// a model was trained on.
std::string TrainingDataSha256(const std::vector<TrainingExample>& examples);

// The first `per_intent` examples of each intent, in data order: stored with
// a model so that verify-model can check them later.
std::vector<TrainingExample> SmokeExamples(const std::vector<TrainingExample>& examples,
                                           int per_intent);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_HELDOUT_CALIBRATION_H_
