#include "nlu/use_intent_model.h"

#include "bert/safetensors.h"
#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/prediction_builder.h"
#include "nlu/use_encoder_files.h"

namespace chatbot::nlu {
namespace fs = std::filesystem;
namespace {

constexpr const char* kHeadFile = "head.safetensors";
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

UseIntentModel::UseIntentModel(std::shared_ptr<const use::UseEncoder> encoder,
                               std::vector<float> weight, std::vector<float> bias,
                               std::vector<std::string> labels, float temperature,
                               float oos_threshold)
    : encoder_(std::move(encoder)),
      weight_(std::move(weight)),
      bias_(std::move(bias)),
      labels_(std::move(labels)),
      temperature_(temperature),
      oos_threshold_(oos_threshold) {
  if (encoder_ == nullptr) throw ModelError("the USE model has no encoder");
  if (labels_.empty() || bias_.size() != labels_.size() ||
      weight_.size() != labels_.size() * use::kEmbeddingSize) {
    throw ModelError("the USE model's head does not match its " + std::to_string(labels_.size()) +
                     " labels");
  }
  oos_label_ = OutOfScopeIndex(labels_);
}

std::vector<float> UseIntentModel::LogitsOf(std::span<const float> embeddings) const {
  const size_t rows = embeddings.size() / use::kEmbeddingSize;
  const size_t classes = labels_.size();
  std::vector<float> logits(rows * classes);
  for (size_t r = 0; r < rows; ++r) {
    const float* x = embeddings.data() + r * use::kEmbeddingSize;
    for (size_t c = 0; c < classes; ++c) {
      const float* w = weight_.data() + c * use::kEmbeddingSize;
      float sum = bias_[c];
      for (int k = 0; k < use::kEmbeddingSize; ++k) sum += w[k] * x[k];
      logits[r * classes + c] = sum;
    }
  }
  return logits;
}

std::vector<float> UseIntentModel::ProbabilitiesBatch(std::span<const std::string> texts) const {
  const std::vector<float> logits = LogitsOf(encoder_->EncodeBatch(texts));
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
  std::map<std::string, bert::Tensor> head;
  const auto classes = static_cast<int64_t>(labels_.size());
  head["weight"] = {{classes, use::kEmbeddingSize}, weight_, {}, false};
  head["bias"] = {{classes}, bias_, {}, false};
  files[kHeadFile] = bert::SerializeSafeTensors((dir / kHeadFile).string(), head);
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
  WriteModelDirectory(dir, files, std::move(manifest));
}

std::unique_ptr<UseIntentModel> UseIntentModel::Load(const fs::path& dir) {
  std::map<std::string, std::string> contents{{kLabelsFile, ""}};
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
  const bert::SafeTensorsFile head = bert::SafeTensorsFile::Read(dir / kHeadFile);
  auto model = std::make_unique<UseIntentModel>(LoadEncoderFrom(dir), head.Get("weight").values,
                                                head.Get("bias").values, std::move(labels),
                                                temperature, threshold);
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
