// Model evaluation: accuracy, per-intent precision/recall/F1, the confusion
// matrix, the out-of-scope metrics of the CLINC150 protocol, prediction
// latency, and stratified K-fold cross-validation.
//
// Every metric is computed from (expected, predicted) label pairs by
// ScorePredictions, so a held-out evaluation, cross-validation and the score
// training reports on its validation split all mean exactly the same thing.
//
// Conventions:
// - "oos" (kOutOfScopeLabel) is an ordinary label for accuracy, macro F1 and
//   the confusion matrix; the oos_* fields look at it on its own.
// - No metric divides by zero: a ratio with an empty denominator is 0, so
//   empty inputs give zeros, never NaN (reports and JSON must stay finite).
#ifndef CHATBOT_NLU_EVALUATION_H_
#define CHATBOT_NLU_EVALUATION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nlu/intent_classifier.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

struct IntentScores {
  std::string intent;
  double precision = 0;  // 0 when the intent was never predicted
  double recall = 0;     // 0 when the intent never occurs in expected
  double f1 = 0;         // 0 when precision + recall is 0
  int support = 0;       // examples whose expected label is `intent`
};

struct ConfusedPair {
  std::string expected;
  std::string predicted;
  int count = 0;
};

// Wall-clock time of single Predict calls, in microseconds. Percentiles use
// the nearest-rank method, so every value is one that was actually measured.
struct LatencySummary {
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// How many confused pairs a report keeps; beyond the top few they are noise.
inline constexpr size_t kMaxConfusedPairs = 20;

struct EvaluationReport {
  size_t examples = 0;
  double accuracy = 0;            // over all examples, "oos" counted as a label
  double macro_f1 = 0;            // mean F1 over the labels present in expected
  bool has_out_of_scope = false;  // some expected label is "oos"
  double in_scope_accuracy = 0;   // over examples whose expected label is not "oos"
  double oos_recall = 0;          // share of "oos" examples predicted "oos"
  double oos_precision = 0;       // share of "oos" predictions that were "oos"
  // What the out-of-scope threshold cost: the in-scope accuracy of the
  // best-ranked label alone, before a confidence below the threshold turned
  // it into "oos". Known only when the predictions came with their ranking
  // (Evaluate, CrossValidate), not from ScorePredictions alone.
  bool has_threshold_cost = false;
  double in_scope_accuracy_without_threshold = 0;
  // in_scope_accuracy_without_threshold - in_scope_accuracy (0 when unknown).
  double ThresholdInScopeLoss() const {
    return has_threshold_cost ? in_scope_accuracy_without_threshold - in_scope_accuracy : 0;
  }
  // One entry per label in `labels`, sorted by intent. Labels that were only
  // predicted appear with support 0 (their precision shows the damage) but
  // do not count towards macro_f1.
  std::vector<IntentScores> per_intent;
  // Expected != predicted pairs, most frequent first (ties by expected, then
  // predicted), at most kMaxConfusedPairs.
  std::vector<ConfusedPair> confused_pairs;
  std::vector<std::string> labels;          // union of expected and predicted, sorted
  std::vector<std::vector<int>> confusion;  // [expected][predicted], indices into `labels`
  LatencySummary latency;                   // zeros when no latencies were given
};

// Scores predictions against expectations, pairwise. `latencies_us` (any
// length, may be empty) only feeds the latency summary. Throws
// std::invalid_argument when `expected` and `predicted` differ in length.
EvaluationReport ScorePredictions(const std::vector<std::string>& expected,
                                  const std::vector<std::string>& predicted,
                                  std::vector<double> latencies_us = {});

// Mean, nearest-rank percentiles and maximum; all zero for no samples.
LatencySummary SummarizeLatencies(std::vector<double> latencies_us);

// Predicts every example one at a time (top_k 1, each call timed with
// steady_clock) and scores IntentPrediction::intent against
// TrainingExample::intent.
EvaluationReport Evaluate(const IntentClassifier& model,
                          const std::vector<TrainingExample>& examples);

// Builds a model from training examples (for cross-validation).
using ModelTrainer =
    std::function<std::unique_ptr<IntentClassifier>(const std::vector<TrainingExample>& train)>;

inline constexpr int kMinFolds = 2;
inline constexpr int kMaxFolds = 20;

// Stratified fold assignment: the fold (0..folds-1) of each example of
// `data`, by index. Each intent's examples are shuffled (deterministically
// under `seed`, on every platform) and dealt round-robin, continuing from
// where the previous intent stopped, so every fold gets examples of every
// intent that has >= `folds` examples and fold sizes differ by at most one.
// Throws DataError unless kMinFolds <= folds <= kMaxFolds and data has at
// least `folds` examples (so that no fold is empty).
std::vector<int> AssignFolds(const std::vector<TrainingExample>& data, int folds, uint64_t seed);

// Stratified K-fold cross-validation: for each fold, trains with `train` on
// the other K-1 folds and evaluates on it, then merges the folds as if they
// were one evaluation (confusion summed, metrics recomputed from the merged
// counts, latencies pooled), so every example is scored exactly once.
// Throws DataError as AssignFolds does, and Error when `train` returns no
// model; whatever `train` throws passes through.
EvaluationReport CrossValidate(const std::vector<TrainingExample>& data, int folds, uint64_t seed,
                               const ModelTrainer& train);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_EVALUATION_H_
