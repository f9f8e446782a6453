// What the intent models with a temperature-calibrated softmax head (BERT,
// USE) share beside their encoders: the sorted labels, the calibration
// (temperature, out-of-scope threshold), the ensemble's calibration kept
// with the model, its version and manifest; predictions as the softmax of
// the head's logits (Logits, each model's own); and the files every such
// model directory holds beside its own (labels.json, heldout.jsonl,
// smoke.jsonl, the domain).
#ifndef CHATBOT_NLU_SOFTMAX_HEAD_MODEL_H_
#define CHATBOT_NLU_SOFTMAX_HEAD_MODEL_H_

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "nlu/ensemble_classifier.h"
#include "nlu/intent_classifier.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

class SoftmaxHeadModel : public IntentClassifier {
 public:
  IntentPrediction Predict(std::string_view text, int top_k) const override;
  std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                             int top_k) const override;
  std::vector<float> Probabilities(std::string_view text) const override;
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override;
  std::string version() const override { return version_; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return oos_threshold_; }

  // The head's scores of every text before the softmax (row-major [texts,
  // labels]).
  virtual std::vector<float> Logits(std::span<const std::string> texts) const = 0;

  float temperature() const { return temperature_; }
  void set_temperature(float t) { temperature_ = t; }
  void set_out_of_scope_threshold(float t) { oos_threshold_ = t; }
  void set_version(std::string version) { version_ = std::move(version); }
  // The ensemble's calibration, chosen on validation data when the model was
  // trained (ensemble_classifier.h) and kept with the model because it
  // describes how far to trust it.
  const EnsembleCalibration& ensemble() const { return ensemble_; }
  bool has_ensemble_calibration() const { return has_ensemble_; }
  void set_ensemble(const EnsembleCalibration& e) {
    ensemble_ = e;
    has_ensemble_ = true;
  }
  const boost::json::object& manifest() const { return manifest_; }
  void set_manifest(boost::json::object manifest) { manifest_ = std::move(manifest); }

 protected:
  static constexpr const char* kLabelsFile = "labels.json";
  static constexpr const char* kHeldOutFile = "heldout.jsonl";
  static constexpr const char* kSmokeFile = "smoke.jsonl";

  SoftmaxHeadModel(float temperature, float oos_threshold)
      : temperature_(temperature), oos_threshold_(oos_threshold) {}

  // Sets labels_ (sorted, as the head's classes) and finds the out-of-scope
  // label among them.
  void SetLabels(std::vector<std::string> labels);

  // Adds labels.json (`labels_json` with the ensemble's calibration),
  // heldout.jsonl, smoke.jsonl (each example with the intent predicted now)
  // and, when `domain` is given, the domain's replies to `files`.
  void AddCommonFiles(boost::json::object labels_json, const std::vector<TrainingExample>& heldout,
                      const std::vector<TrainingExample>& smoke, const TrainingData* domain,
                      std::map<std::string, std::string>* files) const;
  // The manifest to write: the model's own with the format, its version,
  // the labels and the calibration.
  boost::json::object ManifestToSave(const char* format, int64_t format_version) const;

  // labels.json's temperature and out-of-scope threshold, checked. Throws
  // ModelError naming `labels_path`.
  struct Calibration {
    float temperature;
    float oos_threshold;
  };
  static Calibration ReadCalibration(const boost::json::object& labels_json,
                                     const std::filesystem::path& labels_path);
  // The end of a Load: the ensemble's calibration in labels.json (when
  // there) and the manifest with its version. Throws ModelError.
  void FinishLoad(const boost::json::object& labels_json, const std::filesystem::path& labels_path,
                  boost::json::object manifest);

  std::vector<std::string> labels_;  // sorted

 private:
  int oos_label_ = -1;
  float temperature_ = 1;
  float oos_threshold_ = 0;
  EnsembleCalibration ensemble_;
  bool has_ensemble_ = false;
  std::string version_;
  boost::json::object manifest_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_SOFTMAX_HEAD_MODEL_H_
