#include "nlu/svm_intent_model.h"

#include <map>

#include "common/atomic_file.h"
#include "common/binary_io.h"
#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

constexpr char kWeightsFile[] = "model.bin";
constexpr char kHeldOutFile[] = "heldout.jsonl";
constexpr char kSmokeFile[] = "smoke.jsonl";
// Guards against reading a file of another kind as a model.
constexpr uint64_t kMagic = 0x314d56532d544f42ULL;  // "BOT-SVM1"

}  // namespace

SvmIntentModel::SvmIntentModel(NormalizationOptions normalization, TfidfVectorizer vectorizer,
                               LinearSvm svm, std::vector<std::string> labels, float temperature,
                               float oos_threshold)
    : normalizer_(normalization),
      vectorizer_(std::move(vectorizer)),
      svm_(std::move(svm)),
      labels_(std::move(labels)),
      temperature_(temperature),
      oos_threshold_(oos_threshold) {
  if (static_cast<size_t>(svm_.num_classes()) != labels_.size()) {
    throw ModelError("SVM model: " + std::to_string(svm_.num_classes()) + " classes but " +
                     std::to_string(labels_.size()) + " labels");
  }
  if (svm_.num_features() != vectorizer_.num_features()) {
    throw ModelError("SVM model: weights for " + std::to_string(svm_.num_features()) +
                     " features but a vocabulary of " + std::to_string(vectorizer_.num_features()));
  }
  oos_label_ = OutOfScopeIndex(labels_);
}

void SvmIntentModel::DecisionValues(std::string_view text, float* scores) const {
  thread_local std::string normalized;
  thread_local std::vector<SparseFeature> features;
  normalizer_.Normalize(text, &normalized);
  vectorizer_.Transform(normalized, &features);
  svm_.DecisionValues(features, scores);
}

void SvmIntentModel::ProbabilitiesInto(std::string_view text, float* probabilities) const {
  const int classes = svm_.num_classes();
  thread_local std::vector<float> scores;
  scores.resize(classes);
  DecisionValues(text, scores.data());
  Softmax(scores.data(), classes, temperature_, probabilities);
}

IntentPrediction SvmIntentModel::Predict(std::string_view text, int top_k) const {
  thread_local std::vector<float> probabilities;
  probabilities.resize(svm_.num_classes());
  ProbabilitiesInto(text, probabilities.data());
  return BuildPrediction(probabilities, labels_, oos_label_, oos_threshold_, top_k, kind());
}

std::vector<float> SvmIntentModel::Probabilities(std::string_view text) const {
  std::vector<float> probabilities(svm_.num_classes());
  ProbabilitiesInto(text, probabilities.data());
  return probabilities;
}

std::vector<float> SvmIntentModel::ProbabilitiesBatch(std::span<const std::string> texts) const {
  const size_t classes = static_cast<size_t>(svm_.num_classes());
  std::vector<float> rows(texts.size() * classes);
  for (size_t i = 0; i < texts.size(); ++i) ProbabilitiesInto(texts[i], rows.data() + i * classes);
  return rows;
}

std::string SvmIntentModel::SerializeWeights() const {
  BinaryWriter out;
  out.Put<uint64_t>(kMagic);
  out.Put<uint32_t>(static_cast<uint32_t>(labels_.size()));
  for (const std::string& label : labels_) out.PutString(label);
  out.Put<float>(temperature_);
  out.Put<float>(oos_threshold_);
  out.Put<uint8_t>(normalizer_.options().strip_accents ? 1 : 0);
  vectorizer_.Serialize(&out);
  svm_.Serialize(&out);
  return out.Take();
}

void SvmIntentModel::Save(const std::filesystem::path& dir,
                          const std::vector<TrainingExample>& heldout,
                          const std::vector<TrainingExample>& smoke,
                          const TrainingData* domain) const {
  std::string smoke_lines;
  for (const TrainingExample& e : smoke) {
    smoke_lines += boost::json::serialize(boost::json::object{
        {"text", e.text}, {"intent", e.intent}, {"predicted", Predict(e.text, 1).intent}});
    smoke_lines += '\n';
  }
  boost::json::object manifest = manifest_;
  manifest["format"] = kSvmModelFormat;
  manifest["format_version"] = kSvmModelFormatVersion;
  manifest["version"] = version_;
  manifest["labels"] = boost::json::array(labels_.begin(), labels_.end());
  manifest["temperature"] = temperature_;
  manifest["oos_threshold"] = oos_threshold_;
  manifest["features"] = vectorizer_.num_features();
  std::map<std::string, std::string> files{{kWeightsFile, SerializeWeights()},
                                           {kHeldOutFile, ExamplesToJsonLines(heldout)},
                                           {kSmokeFile, smoke_lines}};
  if (domain != nullptr) files[kDomainFile] = DomainToJson(*domain);
  WriteModelDirectory(dir, files, std::move(manifest));
}

std::unique_ptr<SvmIntentModel> SvmIntentModel::Load(const std::filesystem::path& dir) {
  std::map<std::string, std::string> contents{{kWeightsFile, ""}};
  boost::json::object manifest =
      ReadVerifiedManifest(dir, kSvmModelFormat, kSvmModelFormatVersion,
                           {kWeightsFile, kHeldOutFile, kSmokeFile}, &contents);
  const std::filesystem::path path = dir / kWeightsFile;
  const std::string& data = contents[kWeightsFile];
  BinaryReader in(data, path.string());
  if (in.Get<uint64_t>("file signature") != kMagic) {
    in.Fail("file signature", "not an SVM model file");
  }
  const uint32_t label_count = in.Get<uint32_t>("label count");
  if (label_count < 2 || label_count > 100000) in.Fail("label count", "out of range");
  std::vector<std::string> labels;
  for (uint32_t i = 0; i < label_count; ++i) labels.push_back(in.GetString("label"));
  const float temperature = in.Get<float>("temperature");
  const float threshold = in.Get<float>("out-of-scope threshold");
  if (!(temperature > 0) || !(threshold >= 0 && threshold <= 1.01f)) {
    in.Fail("calibration", "out of range");
  }
  NormalizationOptions normalization;
  normalization.strip_accents = in.Get<uint8_t>("normalisation flags") != 0;
  TfidfVectorizer vectorizer = TfidfVectorizer::Deserialize(&in);
  LinearSvm svm = LinearSvm::Deserialize(&in);
  if (!in.AtEnd()) in.Fail("end of file", "unexpected trailing data");

  auto model =
      std::make_unique<SvmIntentModel>(normalization, std::move(vectorizer), std::move(svm),
                                       std::move(labels), temperature, threshold);
  if (const auto* version = manifest.if_contains("version"); version && version->is_string()) {
    model->version_ = std::string(version->as_string());
  }
  model->manifest_ = std::move(manifest);
  return model;
}

}  // namespace chatbot::nlu
