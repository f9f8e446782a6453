// The interface every intent model implements (the SVM now, BERT and the
// ensemble later), so that evaluation, the chat engine and the server do not
// depend on a particular model.
#ifndef CHATBOT_NLU_INTENT_CLASSIFIER_H_
#define CHATBOT_NLU_INTENT_CLASSIFIER_H_

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
};

class IntentClassifier {
 public:
  virtual ~IntentClassifier() = default;

  // Thread-safe; `top_k` bounds the ranking's length (at least 1 entry).
  virtual IntentPrediction Predict(std::string_view text, int top_k) const = 0;

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
