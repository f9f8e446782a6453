// The BERT intent model: WordPiece tokenizer, BERT encoder and a linear
// classification head over its pooled output, with a calibrated softmax,
// stored in model/bert/.
//
// model/bert/ is a Hugging Face checkpoint plus what makes it a model of this
// service:
//   config.json, tokenizer_config.json, vocab.txt, model.safetensors
//                  the checkpoint (BertForSequenceClassification layout, so
//                  Hugging Face can load it back)
//   labels.json    the label map, the head's pooling, the calibration
//                  (temperature, out-of-scope threshold) and the ensemble
//                  calibration chosen when the model was trained
//   heldout.jsonl  the held-out examples its metrics were measured on
//   smoke.jsonl    examples with the intent predicted at save time
//   manifest.json  see model_manifest.h
#ifndef CHATBOT_NLU_BERT_INTENT_MODEL_H_
#define CHATBOT_NLU_BERT_INTENT_MODEL_H_

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bert/bert_checkpoint.h"
#include "bert/bert_encoder.h"
#include "bert/bert_tokenizer.h"
#include "nlu/softmax_head_model.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

inline constexpr const char* kBertModelFormat = "chatbot-bert";
inline constexpr int64_t kBertModelFormatVersion = 1;

// How the head reads the encoder: "pooler" is BertForSequenceClassification
// (dense + tanh over [CLS]); "mean" averages the last hidden states over the
// real tokens, which learns faster from scratch.
enum class BertPooling { kPooler, kMean };

struct BertModelOptions {
  bert::Precision precision = bert::Precision::kF32;
  // OpenMP threads of one encoder call on the calling thread. The server runs
  // one call per batching worker, one worker per core, so 1 by default.
  int threads_per_call = 1;
};

class BertIntentModel final : public SoftmaxHeadModel {
 public:
  // `checkpoint` must have a classifier head with one row per label.
  BertIntentModel(bert::BertCheckpoint checkpoint, BertPooling pooling, float temperature,
                  float oos_threshold, const BertModelOptions& options = {});
  ~BertIntentModel() override;

  std::string_view kind() const override { return "bert"; }

  // Logits of every text (row-major [texts, labels]) in one padded batch.
  std::vector<float> Logits(std::span<const std::string> texts) const override;
  // Tokens of `text` as the encoder sees it ([CLS] ... [SEP]); batching uses
  // the count to group texts of similar length.
  int TokenCount(std::string_view text) const;
  // Longest token sequence; longer texts are truncated.
  int max_length() const;

  const bert::BertCheckpoint& checkpoint() const { return checkpoint_; }
  BertPooling pooling() const { return pooling_; }

  // Writes the model directory atomically (model_manifest.h).
  // `domain`: the training data, whose replies the directory carries
  // (model_domain.h); null: none.
  void Save(const std::filesystem::path& dir, const std::vector<TrainingExample>& heldout,
            const std::vector<TrainingExample>& smoke, const TrainingData* domain = nullptr) const;

  // Loads and verifies a model directory. Throws ModelError.
  static std::unique_ptr<BertIntentModel> Load(const std::filesystem::path& dir,
                                               const BertModelOptions& options = {});

 private:
  bert::BertCheckpoint checkpoint_;
  bert::BertTokenizer tokenizer_;
  std::unique_ptr<bert::BertEncoder> encoder_;
  BertPooling pooling_;
  std::vector<int> head_row_;                               // classifier row of labels_[i]
  std::vector<float> classifier_weight_, classifier_bias_;  // mean pooling only
  int threads_per_call_ = 1;
};

// Adopts a checkpoint fine-tuned elsewhere (BertForSequenceClassification
// with id2label) unchanged: temperature 1, so predictions are the softmax of
// its logits; the out-of-scope threshold is 0 unless given. Throws
// ModelError when it has no classifier or no labels.
std::unique_ptr<BertIntentModel> AdoptCheckpoint(const std::filesystem::path& checkpoint_dir,
                                                 float oos_threshold = 0);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_BERT_INTENT_MODEL_H_
