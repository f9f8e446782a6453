#include "nlu/use_intent_model.h"

#include "common/binary_io.h"
#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/prediction_builder.h"
#include "nlu/use_encoder_files.h"

namespace chatbot::nlu {
namespace fs = std::filesystem;
namespace {

constexpr const char* kHeadFile = "head.bin";
constexpr const char* kLabelsFile = "labels.json";
constexpr const char* kHeldOutFile = "heldout.jsonl";
constexpr const char* kSmokeFile = "smoke.jsonl";

float NumberField(const boost::json::object& o, const char* key, const fs::path& file) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    throw ModelError(file.string() + ": '" + key + "' is missing or not a number");
  }
  return static_cast<float>(v->to_number<double>());
}

}  // namespace

UseIntentModel::UseIntentModel(std::shared_ptr<const use::UseEncoder> encoder, UseHead head,
                               std::vector<std::string> labels, float temperature,
                               float oos_threshold)
    : encoder_(std::move(encoder)),
      head_(std::move(head)),
      labels_(std::move(labels)),
      temperature_(temperature),
      oos_threshold_(oos_threshold) {
  if (encoder_ == nullptr) throw ModelError("the USE model has no encoder");
  if (labels_.empty() || static_cast<size_t>(head_.num_classes()) != labels_.size() ||
      head_.dimensions() != use::kEmbeddingSize) {
    throw ModelError("the USE model's head (" + std::to_string(head_.num_classes()) +
                     " classes of " + std::to_string(head_.dimensions()) +
                     " embedding components) does not match its " + std::to_string(labels_.size()) +
                     " labels and the encoder's " + std::to_string(use::kEmbeddingSize));
  }
  oos_label_ = OutOfScopeIndex(labels_);
}

std::vector<float> UseIntentModel::ProbabilitiesBatch(std::span<const std::string> texts) const {
  const std::vector<float> logits = ScoresOf(texts, encoder_->EncodeBatch(texts));
  std::vector<float> probabilities(logits.size());
  const int classes = static_cast<int>(labels_.size());
  for (size_t r = 0; r < texts.size(); ++r) {
    Softmax(logits.data() + r * classes, classes, temperature_, probabilities.data() + r * classes);
  }
  return probabilities;
}

std::vector<float> UseIntentModel::Probabilities(std::string_view text) const {
  const std::string copy(text);
  return ProbabilitiesBatch(std::span<const std::string>(&copy, 1));
}

IntentPrediction UseIntentModel::Predict(std::string_view text, int top_k) const {
  return BuildPrediction(Probabilities(text), labels_, oos_label_, oos_threshold_, top_k, kind());
}

std::vector<IntentPrediction> UseIntentModel::PredictBatch(std::span<const std::string> texts,
                                                           int top_k) const {
  return BuildPredictions(ProbabilitiesBatch(texts), labels_, oos_label_, oos_threshold_, top_k,
                          kind());
}

void UseIntentModel::Save(const fs::path& dir, const std::vector<TrainingExample>& heldout,
                          const std::vector<TrainingExample>& smoke,
                          const TrainingData* domain) const {
  if (encoder_files_.size() != 2) {
    throw ModelError("the USE model cannot be saved without its encoder's files");
  }
  std::map<std::string, std::string> files = encoder_files_;
  BinaryWriter head;
  head_.Serialize(&head);
  files[kHeadFile] = head.Take();
  boost::json::object labels_json{{"labels", boost::json::array(labels_.begin(), labels_.end())},
                                  {"temperature", temperature_},
                                  {"oos_threshold", oos_threshold_}};
  if (has_ensemble_) labels_json["ensemble"] = ensemble_.ToJson();
  files[kLabelsFile] = boost::json::serialize(labels_json) + "\n";
  files[kHeldOutFile] = ExamplesToJsonLines(heldout);
  std::string smoke_lines;
  for (const TrainingExample& e : smoke) {
    smoke_lines +=
        boost::json::serialize(boost::json::object{
            {"text", e.text}, {"intent", e.intent}, {"predicted", Predict(e.text, 1).intent}}) +
        "\n";
  }
  files[kSmokeFile] = smoke_lines;
  if (domain != nullptr) files[kDomainFile] = DomainToJson(*domain);
  boost::json::object manifest = manifest_;
  manifest["format"] = kUseModelFormat;
  manifest["format_version"] = kUseModelFormatVersion;
  manifest["version"] = version_;
  manifest["labels"] = boost::json::array(labels_.begin(), labels_.end());
  manifest["temperature"] = temperature_;
  manifest["oos_threshold"] = oos_threshold_;
  manifest["text_features"] = head_.num_text_features();
  WriteModelDirectory(dir, files, std::move(manifest));
}

std::unique_ptr<UseIntentModel> UseIntentModel::Load(const fs::path& dir) {
  std::map<std::string, std::string> contents{{kLabelsFile, ""}, {kHeadFile, ""}};
  boost::json::object manifest =
      ReadVerifiedManifest(dir, kUseModelFormat, kUseModelFormatVersion,
                           {kEncoderWeightsFile, kEncoderVocabularyFile, kHeadFile, kLabelsFile,
                            kHeldOutFile, kSmokeFile},
                           &contents);
  const fs::path labels_path = dir / kLabelsFile;
  boost::json::object labels_json;
  std::vector<std::string> labels;
  try {
    labels_json = boost::json::parse(contents[kLabelsFile]).as_object();
    for (const auto& label : labels_json.at("labels").as_array()) {
      labels.emplace_back(label.as_string());
    }
  } catch (const std::exception& e) {
    throw ModelError(labels_path.string() + ": not a JSON object with a 'labels' array");
  }
  const float temperature = NumberField(labels_json, "temperature", labels_path);
  const float threshold = NumberField(labels_json, "oos_threshold", labels_path);
  if (!(temperature > 0) || !(threshold >= 0 && threshold <= 1.01f)) {
    throw ModelError(labels_path.string() + ": calibration out of range");
  }
  const std::string head_path = (dir / kHeadFile).string();
  BinaryReader in(contents[kHeadFile], head_path);
  UseHead head = UseHead::Deserialize(&in);
  if (!in.AtEnd()) in.Fail("end of file", "unexpected trailing data");
  auto model = std::make_unique<UseIntentModel>(LoadEncoderFrom(dir), std::move(head),
                                                std::move(labels), temperature, threshold);
  if (const auto* e = labels_json.if_contains("ensemble"); e != nullptr && e->is_object()) {
    try {
      model->set_ensemble(EnsembleCalibration::FromJson(e->as_object()));
    } catch (const ModelError& error) {
      throw ModelError(labels_path.string() + ": ensemble: " + error.what());
    }
  }
  if (const auto* version = manifest.if_contains("version"); version && version->is_string()) {
    model->version_ = std::string(version->as_string());
  }
  model->manifest_ = std::move(manifest);
  return model;
}

}  // namespace chatbot::nlu
