// The interface every intent model implements (the SVM, BERT and the
// ensemble of both), so that evaluation, the chat engine and the server do not
// depend on a particular model.
//
// Every model turns its calibrated probabilities into a decision with
// BuildPrediction (prediction_builder.h), so the out-of-scope rule, the
// ranking and the fallback thresholds downstream mean the same for each.
#ifndef CHATBOT_NLU_INTENT_CLASSIFIER_H_
#define CHATBOT_NLU_INTENT_CLASSIFIER_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatbot::nlu {

struct RankedIntent {
  std::string intent;
  float confidence = 0;  // calibrated probability in [0, 1]
};

struct IntentPrediction {
  // The decision: the best intent, or "oos" when the input is out of scope
  // (the model predicted the "oos" label, or its confidence fell below the
  // model's out-of-scope threshold).
  std::string intent;
  // Calibrated probability of the best in-scope or "oos" label. Calibration
  // makes one threshold mean the same for every model.
  float confidence = 0;
  bool out_of_scope = false;
  // The best labels, most probable first (may include "oos").
  std::vector<RankedIntent> ranking;
  // Which model answered: "svm", "bert" or "ensemble" (an ensemble in cascade
  // mode answers "svm" when the SVM alone was confident enough). Given a
  // default member initialiser so aggregate initialisers that stop before it
  // stay free of -Wmissing-field-initializers.
  std::string model = {};
};

class IntentClassifier {
 public:
  virtual ~IntentClassifier() = default;

  // Thread-safe; `top_k` bounds the ranking's length (at least 1 entry).
  virtual IntentPrediction Predict(std::string_view text, int top_k) const = 0;

  // Predict for every text, in order. The default calls Predict in a loop;
  // models that gain from batching (BERT) override it.
  virtual std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                                     int top_k) const;

  // Calibrated probabilities of every label, in labels() order, summing to 1:
  // the distribution Predict's decision is built from. The default asks
  // Predict for the full ranking and reorders it; models override it with
  // something cheaper.
  virtual std::vector<float> Probabilities(std::string_view text) const;

  // Probabilities for every text: texts.size() rows of labels().size() values,
  // row-major. The default calls Probabilities in a loop.
  virtual std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const;

  // "svm", "bert", "ensemble".
  virtual std::string_view kind() const = 0;
  // Identifies the trained model (the manifest's creation time and data hash).
  virtual std::string version() const = 0;
  // Every label the model can predict, sorted.
  virtual const std::vector<std::string>& labels() const = 0;
  // Confidence below which a prediction is out of scope.
  virtual float out_of_scope_threshold() const = 0;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_INTENT_CLASSIFIER_H_
