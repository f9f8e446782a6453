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

}  // namespace

UseIntentModel::UseIntentModel(std::shared_ptr<const use::UseEncoder> encoder, UseHead head,
                               std::vector<std::string> labels, float temperature,
                               float oos_threshold)
    : SoftmaxHeadModel(temperature, oos_threshold),
      encoder_(std::move(encoder)),
      head_(std::move(head)) {
  SetLabels(std::move(labels));
  if (encoder_ == nullptr) throw ModelError("the USE model has no encoder");
  if (labels_.empty() || static_cast<size_t>(head_.num_classes()) != labels_.size() ||
      head_.dimensions() != use::kEmbeddingSize) {
    throw ModelError("the USE model's head (" + std::to_string(head_.num_classes()) +
                     " classes of " + std::to_string(head_.dimensions()) +
                     " embedding components) does not match its " + std::to_string(labels_.size()) +
                     " labels and the encoder's " + std::to_string(use::kEmbeddingSize));
  }
}

std::vector<float> UseIntentModel::Logits(std::span<const std::string> texts) const {
  return ScoresOf(texts, encoder_->EncodeBatch(texts));
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
  AddCommonFiles({{"labels", boost::json::array(labels_.begin(), labels_.end())},
                  {"temperature", temperature()},
                  {"oos_threshold", out_of_scope_threshold()}},
                 heldout, smoke, domain, &files);
  boost::json::object manifest = ManifestToSave(kUseModelFormat, kUseModelFormatVersion);
  manifest["text_features"] = head_.num_text_features();
  WriteModelDirectory(dir, files, std::move(manifest));
}

std::unique_ptr<UseIntentModel> UseIntentModel::Load(const fs::path& dir,
                                                     bert::Precision precision) {
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
  const Calibration calibration = ReadCalibration(labels_json, labels_path);
  const std::string head_path = (dir / kHeadFile).string();
  BinaryReader in(contents[kHeadFile], head_path);
  UseHead head = UseHead::Deserialize(&in);
  if (!in.AtEnd()) in.Fail("end of file", "unexpected trailing data");
  auto model = std::make_unique<UseIntentModel>(LoadEncoderFrom(dir, precision), std::move(head),
                                                std::move(labels), calibration.temperature,
                                                calibration.oos_threshold);
  model->FinishLoad(labels_json, labels_path, std::move(manifest));
  return model;
}

}  // namespace chatbot::nlu
