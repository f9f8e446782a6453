// Calibrated confidence and the out-of-scope threshold.
//
// A linear SVM's decision values are margins, not probabilities. A softmax
// over them with one temperature T, fitted on held-out data by minimising the
// negative log-likelihood (temperature scaling, Guo et al. 2017), turns them
// into probabilities without changing the ranking; the same is done for every
// model, so one confidence threshold means the same for each of them.
#ifndef CHATBOT_NLU_CALIBRATION_H_
#define CHATBOT_NLU_CALIBRATION_H_

#include <vector>

namespace chatbot::nlu {

// probabilities[k] = exp(scores[k] / T) / sum_j exp(scores[j] / T).
void Softmax(const float* scores, int classes, float temperature, float* probabilities);

// The T in [0.001, 1000] minimising the mean negative log-likelihood of the
// true labels. `scores` holds rows of `classes` values.
float FitTemperature(const std::vector<float>& scores, int classes, const std::vector<int>& labels);

// One held-out example as the threshold search sees it.
struct HeldOutOutcome {
  float confidence;        // calibrated probability of the model's best label
  bool expected_oos;       // the true label is out of scope
  bool predicted_oos;      // the best label is the "oos" label
  bool predicted_correct;  // the best label is the true label
};

struct ThresholdChoice {
  float threshold = 0;
  double base_in_scope_accuracy = 0;  // on the held-out data, without a threshold
  double in_scope_accuracy = 0;       // on the held-out data, with the threshold
  double oos_recall = 0;              // likewise (0 without out-of-scope examples)
};

// The highest threshold whose in-scope accuracy on the held-out data is at
// most `max_in_scope_loss` (a fraction, 0.01 = one point) below the accuracy
// without a threshold. A higher threshold only ever flags more inputs as out
// of scope, so this is the threshold with the best out-of-scope recall that
// the accuracy budget allows; with no out-of-scope examples it still guards
// against confident-looking guesses on unfamiliar input.
ThresholdChoice ChooseOutOfScopeThreshold(const std::vector<HeldOutOutcome>& outcomes,
                                          double max_in_scope_loss);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_CALIBRATION_H_
