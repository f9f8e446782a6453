#include "nlu/bert_intent_model.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "common/atomic_file.h"
#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;

// The Hugging Face files of the checkpoint, as BertCheckpoint writes them.
constexpr const char* kCheckpointFiles[] = {"config.json", "tokenizer_config.json", "vocab.txt",
                                            "model.safetensors"};

std::string_view PoolingName(BertPooling pooling) {
  return pooling == BertPooling::kMean ? "mean" : "pooler";
}

// A scratch directory beside `dir` (same file system), removed on scope exit.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const fs::path& near) {
    const fs::path parent = near.parent_path().empty() ? fs::path(".") : near.parent_path();
    fs::create_directories(parent);
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
    // on "." + std::string.
    std::string name = ".";
    name += near.filename().string();
    name += ".export.";
    name += std::to_string(::getpid());
    path_ = parent / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

BertIntentModel::BertIntentModel(bert::BertCheckpoint checkpoint, BertPooling pooling,
                                 float temperature, float oos_threshold,
                                 const BertModelOptions& options)
    : SoftmaxHeadModel(temperature, oos_threshold),
      checkpoint_(std::move(checkpoint)),
      tokenizer_(checkpoint_.vocab, bert::TokenizerOptions::FromConfig(checkpoint_.config)),
      pooling_(pooling),
      threads_per_call_(std::max(1, options.threads_per_call)) {
  if (!checkpoint_.has_classifier() || checkpoint_.config.labels.empty()) {
    throw ModelError("BERT model: the checkpoint has no classification head with labels");
  }
  encoder_ = std::make_unique<bert::BertEncoder>(checkpoint_.config, checkpoint_.tensors,
                                                 bert::DefaultComputeBackend(), options.precision,
                                                 "BERT model");
  // labels() is sorted; the head's rows follow id2label. head_row_[i] is the
  // row of labels_[i].
  const std::vector<std::string>& ids = checkpoint_.config.labels;
  head_row_.resize(ids.size());
  std::iota(head_row_.begin(), head_row_.end(), 0);
  std::sort(head_row_.begin(), head_row_.end(), [&](int a, int b) { return ids[a] < ids[b]; });
  std::vector<std::string> labels;
  for (int row : head_row_) labels.push_back(ids[row]);
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i] == labels[i - 1]) {
      throw ModelError("BERT model: label '" + labels[i] + "' appears twice in id2label");
    }
  }
  SetLabels(std::move(labels));
  if (pooling_ == BertPooling::kMean) {
    classifier_weight_ = checkpoint_.tensors.at("classifier.weight").values;
    classifier_bias_ = checkpoint_.tensors.at("classifier.bias").values;
  }
}

BertIntentModel::~BertIntentModel() = default;

int BertIntentModel::max_length() const {
  return checkpoint_.config.model_max_length;
}

int BertIntentModel::TokenCount(std::string_view text) const {
  thread_local std::vector<int32_t> ids;
  tokenizer_.Encode(text, max_length(), &ids);
  return static_cast<int>(ids.size());
}

std::vector<float> BertIntentModel::Logits(std::span<const std::string> texts) const {
  const int labels = static_cast<int>(labels_.size());
  std::vector<float> out(texts.size() * labels);
  if (texts.empty()) return out;
  // oneDNN runs on the calling thread's OpenMP team; set its size once per
  // thread (see compute_backend.h).
  thread_local int team_size = 0;
  if (team_size != threads_per_call_) {
    omp_set_num_threads(threads_per_call_);
    team_size = threads_per_call_;
  }
  thread_local std::vector<std::vector<int32_t>> encoded;
  encoded.resize(texts.size());
  size_t longest = 1;
  for (size_t i = 0; i < texts.size(); ++i) {
    tokenizer_.Encode(texts[i], max_length(), &encoded[i]);
    longest = std::max(longest, encoded[i].size());
  }
  bert::EncoderBatch batch;
  batch.batch = static_cast<int>(texts.size());
  batch.seq_len = static_cast<int>(longest);
  batch.input_ids.assign(texts.size() * longest, checkpoint_.vocab.pad_id());
  batch.attention_mask.assign(texts.size() * longest, 0);
  for (size_t i = 0; i < texts.size(); ++i) {
    std::copy(encoded[i].begin(), encoded[i].end(), batch.input_ids.begin() + i * longest);
    std::fill_n(batch.attention_mask.begin() + i * longest, encoded[i].size(), 1);
  }
  bert::EncoderOptions options;
  options.want_mean = pooling_ == BertPooling::kMean;
  options.want_logits = pooling_ == BertPooling::kPooler;
  thread_local bert::EncoderOutput output;
  encoder_->Forward(batch, &output, options);

  const int hidden = checkpoint_.config.hidden_size;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (int l = 0; l < labels; ++l) {
      const int row = head_row_[l];
      float logit;
      if (pooling_ == BertPooling::kMean) {
        const float* x = output.mean_pooled.data() + i * hidden;
        const float* w = classifier_weight_.data() + static_cast<size_t>(row) * hidden;
        float sum = classifier_bias_[row];
        for (int h = 0; h < hidden; ++h) sum += x[h] * w[h];
        logit = sum;
      } else {
        logit = output.logits[i * labels + row];
      }
      out[i * labels + l] = logit;
    }
  }
  return out;
}

void BertIntentModel::Save(const fs::path& dir, const std::vector<TrainingExample>& heldout,
                           const std::vector<TrainingExample>& smoke,
                           const TrainingData* domain) const {
  std::map<std::string, std::string> files;
  {
    ScratchDirectory scratch(dir);
    checkpoint_.Save(scratch.path());
    for (const char* name : kCheckpointFiles) files[name] = ReadFile(scratch.path() / name);
  }
  AddCommonFiles({{"labels", boost::json::array(labels_.begin(), labels_.end())},
                  {"pooling", PoolingName(pooling_)},
                  {"temperature", temperature()},
                  {"oos_threshold", out_of_scope_threshold()}},
                 heldout, smoke, domain, &files);
  const bert::BertConfig& c = checkpoint_.config;
  boost::json::object manifest = ManifestToSave(kBertModelFormat, kBertModelFormatVersion);
  manifest["architecture"] = {{"layers", c.num_hidden_layers},
                              {"hidden_size", c.hidden_size},
                              {"attention_heads", c.num_attention_heads},
                              {"intermediate_size", c.intermediate_size},
                              {"vocab_size", c.vocab_size},
                              {"max_length", c.model_max_length},
                              {"pooling", PoolingName(pooling_)}};
  WriteModelDirectory(dir, files, std::move(manifest));
}

std::unique_ptr<BertIntentModel> BertIntentModel::Load(const fs::path& dir,
                                                       const BertModelOptions& options) {
  std::vector<std::string> required(std::begin(kCheckpointFiles), std::end(kCheckpointFiles));
  required.insert(required.end(), {kLabelsFile, kHeldOutFile, kSmokeFile});
  std::map<std::string, std::string> contents{{kLabelsFile, ""}};
  boost::json::object manifest =
      ReadVerifiedManifest(dir, kBertModelFormat, kBertModelFormatVersion, required, &contents);
  const fs::path labels_path = dir / kLabelsFile;
  boost::json::object labels_json;
  try {
    labels_json = boost::json::parse(contents[kLabelsFile]).as_object();
  } catch (const std::exception& e) {
    throw ModelError(labels_path.string() +
                     ": not a JSON object: " + WithoutSourceLocation(e.what()));
  }
  const boost::json::value* pooling_value = labels_json.if_contains("pooling");
  BertPooling pooling = BertPooling::kPooler;
  if (pooling_value != nullptr && pooling_value->is_string() &&
      pooling_value->as_string() == "mean") {
    pooling = BertPooling::kMean;
  } else if (pooling_value != nullptr &&
             !(pooling_value->is_string() && pooling_value->as_string() == "pooler")) {
    throw ModelError(labels_path.string() + ": 'pooling' must be \"pooler\" or \"mean\"");
  }
  const Calibration calibration = ReadCalibration(labels_json, labels_path);
  auto model = std::make_unique<BertIntentModel>(bert::BertCheckpoint::Load(dir), pooling,
                                                 calibration.temperature, calibration.oos_threshold,
                                                 options);
  model->FinishLoad(labels_json, labels_path, std::move(manifest));
  return model;
}

std::unique_ptr<BertIntentModel> AdoptCheckpoint(const fs::path& checkpoint_dir,
                                                 float oos_threshold) {
  bert::BertCheckpoint checkpoint = bert::BertCheckpoint::Load(checkpoint_dir);
  if (!checkpoint.has_classifier() || checkpoint.config.labels.empty()) {
    throw ModelError(checkpoint_dir.string() +
                     ": not a fine-tuned classifier (import-bert needs a "
                     "BertForSequenceClassification checkpoint with classifier.weight and "
                     "id2label in config.json)");
  }
  return std::make_unique<BertIntentModel>(std::move(checkpoint), BertPooling::kPooler, 1.0f,
                                           oos_threshold);
}

}  // namespace chatbot::nlu
