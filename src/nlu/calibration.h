// Calibrated confidence and the out-of-scope threshold.
//
// A linear SVM's decision values are margins, not probabilities. A softmax
// over them with one temperature T, fitted on held-out data by minimising the
// negative log-likelihood (temperature scaling, Guo et al. 2017), turns them
// into probabilities without changing the ranking; the same is done for every
// model, so one confidence threshold means the same for each of them.
#ifndef CHATBOT_NLU_CALIBRATION_H_
#define CHATBOT_NLU_CALIBRATION_H_

#include <cstddef>
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

// The threshold search's confidence that a threshold keeps its promise on
// new inputs: the one-sided 95 % quantile of the normal distribution.
inline constexpr double kThresholdConfidenceZ = 1.645;

// The upper end of the one-sided confidence interval (Wilson score, `z`
// standard deviations; z <= 0 gives the sample's own rate) of the in-scope
// accuracy lost, `lost` of `in_scope` examples.
double LossUpperBound(size_t lost, size_t in_scope, double z);

// The highest threshold whose in-scope accuracy loss on the held-out data
// is at most `max_in_scope_loss` (a fraction, 0.01 = one point) with
// confidence `confidence_z`: LossUpperBound of the correct answers it flags
// stays within the budget. The loss measured on one sample of a size is
// not the loss on the next: a threshold exactly at the budget on the
// sample costs more than the budget on about half of new samples, and more
// yet where new inputs are less alike to the training data. Bounding the
// loss from above is the risk control of "Learn then Test" (Angelopoulos et
// al. 2021) with one threshold. A threshold that flags no correct answer
// is always allowed. A higher threshold only ever flags more
// inputs as out of scope, so this is the threshold with the best
// out-of-scope recall that the accuracy budget allows; with no out-of-scope
// examples it still guards against confident-looking guesses on unfamiliar
// input.
ThresholdChoice ChooseOutOfScopeThreshold(const std::vector<HeldOutOutcome>& outcomes,
                                          double max_in_scope_loss,
                                          double confidence_z = kThresholdConfidenceZ);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_CALIBRATION_H_
