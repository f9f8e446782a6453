// The SVM intent model: normalisation, TF-IDF features, a linear SVM and a
// calibrated softmax, stored in model/svm/.
//
// model/svm/ holds:
//   model.bin      vectoriser + SVM weights + labels + calibration (binary)
//   heldout.jsonl  the held-out examples its metrics were measured on
//   smoke.jsonl    training examples with the intent predicted at save time
//   domain.json    the intents' replies (model_domain.h)
//   manifest.json  see model_manifest.h
// The last two let `chatbot verify-model` prove, later, that the model on
// disk still behaves as it did when it was saved.
#ifndef CHATBOT_NLU_SVM_INTENT_MODEL_H_
#define CHATBOT_NLU_SVM_INTENT_MODEL_H_

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nlu/intent_classifier.h"
#include "nlu/linear_svm.h"
#include "nlu/text_normalizer.h"
#include "nlu/tfidf_vectorizer.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

inline constexpr const char* kSvmModelFormat = "chatbot-svm";
inline constexpr int64_t kSvmModelFormatVersion = 1;

class SvmIntentModel final : public IntentClassifier {
 public:
  SvmIntentModel(NormalizationOptions normalization, TfidfVectorizer vectorizer, LinearSvm svm,
                 std::vector<std::string> labels, float temperature, float oos_threshold);

  IntentPrediction Predict(std::string_view text, int top_k) const override;
  // The temperature-scaled softmax over DecisionValues.
  std::vector<float> Probabilities(std::string_view text) const override;
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override;
  std::string_view kind() const override { return "svm"; }
  std::string version() const override { return version_; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return oos_threshold_; }

  // Decision values for every label (in labels() order), before calibration.
  void DecisionValues(std::string_view text, float* scores) const;

  float temperature() const { return temperature_; }
  void set_temperature(float t) { temperature_ = t; }
  void set_out_of_scope_threshold(float t) { oos_threshold_ = t; }
  void set_version(std::string version) { version_ = std::move(version); }
  size_t num_features() const { return vectorizer_.num_features(); }
  // The manifest read at load time, or set before saving.
  const boost::json::object& manifest() const { return manifest_; }
  void set_manifest(boost::json::object manifest) { manifest_ = std::move(manifest); }

  // Writes the model directory atomically (model_manifest.h). The manifest
  // given by set_manifest() is completed with format, version and labels.
  // `domain`: the training data, whose replies the directory carries
  // (model_domain.h); null: none.
  void Save(const std::filesystem::path& dir, const std::vector<TrainingExample>& heldout,
            const std::vector<TrainingExample>& smoke, const TrainingData* domain = nullptr) const;

  // Loads and verifies a model directory. Throws ModelError.
  static std::unique_ptr<SvmIntentModel> Load(const std::filesystem::path& dir);

 private:
  std::string SerializeWeights() const;
  // Probabilities into `probabilities` (labels().size() values).
  void ProbabilitiesInto(std::string_view text, float* probabilities) const;

  TextNormalizer normalizer_;
  TfidfVectorizer vectorizer_;
  LinearSvm svm_;
  std::vector<std::string> labels_;
  int oos_label_ = -1;  // index of "oos" in labels_, or -1
  float temperature_ = 1;
  float oos_threshold_ = 0;
  std::string version_;
  boost::json::object manifest_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_SVM_INTENT_MODEL_H_
