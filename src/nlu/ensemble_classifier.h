// The SVM and BERT intent models combined.
//
// Both models give calibrated probabilities over the same labels, so they can
// be mixed directly: p = w * p_svm + (1 - w) * p_bert (mode "weighted"). The
// SVM answers in microseconds and BERT in milliseconds, and on most inputs the
// SVM is already sure; mode "cascade" therefore answers from the SVM alone
// when its confidence reaches `cascade_threshold` (IntentPrediction::model =
// "svm", decided with the SVM's own out-of-scope threshold) and asks for the
// weighted mixture otherwise (model = "ensemble"), cutting BERT calls.
//
// w, the ensemble's out-of-scope threshold and the cascade threshold are
// chosen on validation data by ChooseEnsembleWeights, which also reports how
// each model and each mode scored there, for the manifest and for people.
#ifndef CHATBOT_NLU_ENSEMBLE_CLASSIFIER_H_
#define CHATBOT_NLU_ENSEMBLE_CLASSIFIER_H_

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nlu/intent_classifier.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

enum class EnsembleMode { kWeighted, kCascade };

// "weighted", "cascade".
std::string_view EnsembleModeName(EnsembleMode mode);
// The inverse of EnsembleModeName; throws ConfigError naming the valid modes.
EnsembleMode ParseEnsembleMode(std::string_view name);

struct EnsembleOptions {
  EnsembleMode mode = EnsembleMode::kWeighted;
  double svm_weight = 0.5;  // w, in [0, 1]
  float oos_threshold = 0;  // the mixture's out-of-scope threshold, in [0, 1]
  // Cascade: the SVM answers alone when its best probability is >= this
  // (above 1: never).
  float cascade_threshold = 1.01f;
};

// How one model or mode did on the validation examples, with its
// out-of-scope threshold applied (as served).
struct ValidationScores {
  double accuracy = 0;           // every example; "oos" counted as a label
  double in_scope_accuracy = 0;  // examples whose label is not "oos"
  double oos_recall = 0;         // "oos" examples answered "oos" (0 without any)
};

struct EnsembleCalibration {
  double svm_weight = 0.5;
  float oos_threshold = 0;
  float cascade_threshold = 1.01f;
  // Cascade: the share of validation examples the SVM was not sure of, i.e.
  // that still needed BERT.
  double bert_call_share = 1;
  size_t examples = 0;
  size_t oos_examples = 0;
  ValidationScores svm, bert, ensemble, cascade;

  EnsembleOptions Options(EnsembleMode mode) const;
  // {"svm_weight", "oos_threshold", "cascade_threshold", "bert_call_share",
  //  "examples", "oos_examples", "validation": {"svm": {"accuracy",
  //  "in_scope_accuracy", "oos_recall"}, "bert", "ensemble", "cascade"}}
  boost::json::object ToJson() const;
  // Reads ToJson's object back; throws ModelError naming a missing or
  // out-of-range field ("validation" is optional).
  static EnsembleCalibration FromJson(const boost::json::object& json);
};

// Chooses the ensemble's parameters on `validation`, computing both models'
// probabilities once:
// - w: of the grid 0, 0.05, ..., 1, among the points whose out-of-scope
//   recall is at least the better of the two models' alone (that model's
//   point always qualifies), the one with the best in-scope accuracy (ties:
//   the better recall, then the lower negative log-likelihood of the true
//   labels, then the lower w);
// - the out-of-scope threshold: at w = 1 and w = 0 the member's own (the
//   mixture is that model, answering as it does alone); between them
//   ChooseOutOfScopeThreshold (calibration.h) on the mixture, as the SVM
//   trainer does, allowing `max_accuracy_loss`;
// - the cascade threshold: lowering it from above 1 past each SVM confidence
//   in turn, the lowest reached before the cascade's in-scope accuracy first
//   falls more than `cascade_max_accuracy_loss` (0.001 = 0.1 point) below
//   the full ensemble's.
// Throws DataError for no validation examples and ModelError when the
// models' label sets differ.
EnsembleCalibration ChooseEnsembleWeights(const IntentClassifier& svm, const IntentClassifier& bert,
                                          const std::vector<TrainingExample>& validation,
                                          double max_accuracy_loss,
                                          double cascade_max_accuracy_loss = 0.001);

// Live counters, for metrics.
struct EnsembleStats {
  uint64_t predictions = 0;  // texts classified (single or batched)
  uint64_t svm_answers = 0;  // answered by the SVM alone (cascade)
  uint64_t bert_calls = 0;   // texts BERT was asked about
};

class EnsembleClassifier final : public IntentClassifier {
 public:
  // Throws ModelError for a null model or differing label sets (naming the
  // labels only one of them has), ConfigError for options out of range.
  EnsembleClassifier(std::shared_ptr<const IntentClassifier> svm,
                     std::shared_ptr<const IntentClassifier> bert, EnsembleOptions options);

  IntentPrediction Predict(std::string_view text, int top_k) const override;
  // One batch call to the SVM and at most one to BERT (cascade: only for the
  // texts the SVM was unsure of).
  std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                             int top_k) const override;
  // The distribution the decision is made from: the SVM's when the cascade
  // lets it answer alone, else the mixture.
  std::vector<float> Probabilities(std::string_view text) const override;
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override;

  std::string_view kind() const override { return "ensemble"; }
  // "svm:<svm version>+<partner kind>:<partner version>", the partner being
  // BERT or USE: "svm:1a2b3c4d+use:5e6f7a8b".
  std::string version() const override;
  // The SVM's labels (BERT's are the same set).
  const std::vector<std::string>& labels() const override { return svm_->labels(); }
  float out_of_scope_threshold() const override { return options_.oos_threshold; }

  const EnsembleOptions& options() const { return options_; }
  const IntentClassifier& svm() const { return *svm_; }
  const IntentClassifier& bert() const { return *bert_; }
  EnsembleStats Stats() const;

 private:
  // Fills `rows` (texts x labels) with the distributions and `from_svm` with
  // whether the SVM answered alone.
  void Distributions(std::span<const std::string> texts, std::vector<float>* rows,
                     std::vector<char>* from_svm) const;
  bool SvmAnswersAlone(std::span<const float> svm_probabilities) const;
  bool NeedsBert() const { return svm_weight_ < 1.0f; }
  // Weighted at weight 0 the SVM's probabilities count for nothing: they
  // are not computed (zeros stand in).
  bool NeedsSvm() const { return options_.mode == EnsembleMode::kCascade || svm_weight_ > 0.0f; }
  IntentPrediction Decide(std::span<const float> probabilities, bool from_svm, int top_k) const;

  std::shared_ptr<const IntentClassifier> svm_;
  std::shared_ptr<const IntentClassifier> bert_;
  EnsembleOptions options_;
  float svm_weight_;
  int oos_label_;
  std::vector<size_t> bert_index_;  // bert_index_[k]: BERT's index of labels()[k]
  mutable std::atomic<uint64_t> predictions_{0};
  mutable std::atomic<uint64_t> svm_answers_{0};
  mutable std::atomic<uint64_t> bert_calls_{0};
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_ENSEMBLE_CLASSIFIER_H_
