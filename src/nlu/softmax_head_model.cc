#include "nlu/softmax_head_model.h"

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;

float NumberField(const boost::json::object& o, const char* key, const fs::path& file) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    throw ModelError(file.string() + ": '" + key + "' is missing or not a number");
  }
  return static_cast<float>(v->to_number<double>());
}

}  // namespace

std::vector<float> SoftmaxHeadModel::ProbabilitiesBatch(std::span<const std::string> texts) const {
  std::vector<float> rows = Logits(texts);
  const int classes = static_cast<int>(labels_.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    float* row = rows.data() + i * classes;
    Softmax(row, classes, temperature_, row);
  }
  return rows;
}

std::vector<float> SoftmaxHeadModel::Probabilities(std::string_view text) const {
  const std::string copy(text);
  return ProbabilitiesBatch(std::span<const std::string>(&copy, 1));
}

IntentPrediction SoftmaxHeadModel::Predict(std::string_view text, int top_k) const {
  return BuildPrediction(Probabilities(text), labels_, oos_label_, oos_threshold_, top_k, kind());
}

std::vector<IntentPrediction> SoftmaxHeadModel::PredictBatch(std::span<const std::string> texts,
                                                             int top_k) const {
  return BuildPredictions(ProbabilitiesBatch(texts), labels_, oos_label_, oos_threshold_, top_k,
                          kind());
}

void SoftmaxHeadModel::SetLabels(std::vector<std::string> labels) {
  labels_ = std::move(labels);
  oos_label_ = OutOfScopeIndex(labels_);
}

void SoftmaxHeadModel::AddCommonFiles(boost::json::object labels_json,
                                      const std::vector<TrainingExample>& heldout,
                                      const std::vector<TrainingExample>& smoke,
                                      const TrainingData* domain,
                                      std::map<std::string, std::string>* files) const {
  if (has_ensemble_) labels_json["ensemble"] = ensemble_.ToJson();
  (*files)[kLabelsFile] = boost::json::serialize(labels_json) + "\n";
  (*files)[kHeldOutFile] = ExamplesToJsonLines(heldout);
  std::string smoke_lines;
  for (const TrainingExample& e : smoke) {
    smoke_lines += boost::json::serialize(boost::json::object{
        {"text", e.text}, {"intent", e.intent}, {"predicted", Predict(e.text, 1).intent}});
    smoke_lines += '\n';
  }
  (*files)[kSmokeFile] = smoke_lines;
  if (domain != nullptr) (*files)[kDomainFile] = DomainToJson(*domain);
}

boost::json::object SoftmaxHeadModel::ManifestToSave(const char* format,
                                                     int64_t format_version) const {
  boost::json::object manifest = manifest_;
  manifest["format"] = format;
  manifest["format_version"] = format_version;
  manifest["version"] = version_;
  manifest["labels"] = boost::json::array(labels_.begin(), labels_.end());
  manifest["temperature"] = temperature_;
  manifest["oos_threshold"] = oos_threshold_;
  return manifest;
}

SoftmaxHeadModel::Calibration SoftmaxHeadModel::ReadCalibration(
    const boost::json::object& labels_json, const fs::path& labels_path) {
  const float temperature = NumberField(labels_json, "temperature", labels_path);
  const float threshold = NumberField(labels_json, "oos_threshold", labels_path);
  if (!(temperature > 0) || !(threshold >= 0 && threshold <= 1.01f)) {
    throw ModelError(labels_path.string() + ": calibration out of range");
  }
  return {temperature, threshold};
}

void SoftmaxHeadModel::FinishLoad(const boost::json::object& labels_json,
                                  const fs::path& labels_path, boost::json::object manifest) {
  if (const auto* e = labels_json.if_contains("ensemble"); e != nullptr && e->is_object()) {
    try {
      set_ensemble(EnsembleCalibration::FromJson(e->as_object()));
    } catch (const ModelError& error) {
      throw ModelError(labels_path.string() + ": ensemble: " + error.what());
    }
  }
  if (const auto* version = manifest.if_contains("version"); version && version->is_string()) {
    version_ = std::string(version->as_string());
  }
  manifest_ = std::move(manifest);
}

}  // namespace chatbot::nlu
