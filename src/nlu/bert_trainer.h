// Training the BERT intent model end to end: vocabulary (built from the
// training texts when no checkpoint is given), fine-tuning of the whole
// encoder with AdamW, early stopping on validation accuracy, temperature
// calibration and the out-of-scope threshold on the held-out data, held-out
// metrics.
//
// The held-out data (the caller's validation data, or a stratified split)
// chooses the epoch to keep (early stopping), calibrates, and is scored; the
// recorded metrics are those. Unlike the SVM, BERT is not refitted on it
// afterwards: without it there would be no way to know when to stop.
//
// Deterministic for a seed and a thread count: initialisation, shuffling and
// dropout all draw from one seeded generator.
#ifndef CHATBOT_NLU_BERT_TRAINER_H_
#define CHATBOT_NLU_BERT_TRAINER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nlu/bert_intent_model.h"
#include "nlu/evaluation.h"

namespace chatbot::nlu {

struct BertTrainingOptions {
  std::filesystem::path init;  // Hugging Face checkpoint to fine-tune; empty: from scratch
  std::string size = "tiny";   // from scratch: tiny|mini|small (bert_config.h)
  int vocab_size = 8000;       // from scratch: WordPiece vocabulary size
  int max_length = 64;         // tokens per text
  int epochs = 10;
  int batch_size = 32;
  double learning_rate = 1e-3;
  double weight_decay = 0.01;
  double warmup_fraction = 0.06;
  double dropout = 0.1;
  double max_grad_norm = 1.0;
  int patience = 5;  // epochs without a better validation accuracy
  uint64_t seed = 42;
  int threads = 0;  // 0: one per core
  // Head over the encoder: pooler ([CLS], as Hugging Face) or the mean of the
  // token states; kAuto picks mean from scratch and pooler when fine-tuning.
  enum class Head { kAuto, kPooler, kMean } head = Head::kAuto;
  double validation_fraction = 0.15;    // used only without validation data
  double oos_max_in_scope_loss = 0.01;  // see ChooseOutOfScopeThreshold
  int smoke_examples_per_intent = 3;
  double max_seconds = 0;  // stop after the epoch that crosses this budget; 0: none
};

struct BertTrainingProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  int step = 0;  // within the epoch
  int steps = 0;
  double loss = 0;                  // mean over the epoch so far
  double validation_accuracy = -1;  // of the last finished epoch; -1 before the first
  double examples_per_second = 0;
  double eta_seconds = 0;  // to the last epoch, if it runs
  double elapsed_seconds = 0;
  bool epoch_finished = false;
};
using BertProgressCallback = std::function<void(const BertTrainingProgress&)>;

// "epoch 2/4 step 10/40: loss 0.1234, validation accuracy 91.20%, 850
// examples/s, elapsed 1m05s, ETA 3m10s", as progress is shown and finished
// epochs are logged.
std::string ProgressLine(const BertTrainingProgress& progress);

struct BertEpochSummary {
  int epoch = 0;
  double loss = 0;
  double validation_accuracy = 0;
  double seconds = 0;
};

struct BertTrainingResult {
  std::unique_ptr<BertIntentModel> model;
  EvaluationReport heldout;  // with the threshold applied
  std::vector<TrainingExample> heldout_examples;
  std::vector<TrainingExample> smoke_examples;
  bool heldout_from_split = false;
  bool from_scratch = true;
  std::vector<BertEpochSummary> history;
  int best_epoch = 0;
  size_t training_examples = 0;
  double seconds = 0;
  double examples_per_second = 0;  // training steps only
  int64_t parameters = 0;
  int64_t peak_rss_bytes = 0;  // the process's high-water mark after training
  std::string data_sha256;
};

// Throws DataError when the data cannot train a model, ModelError when the
// initial checkpoint is unusable.
BertTrainingResult TrainBertModel(const std::vector<TrainingExample>& train,
                                  const std::vector<TrainingExample>& validation,
                                  const BertTrainingOptions& options,
                                  const BertProgressCallback& progress = {});

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_BERT_TRAINER_H_
