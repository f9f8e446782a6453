#include "nlu/bert_trainer.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <thread>

#include "bert/adamw.h"
#include "bert/bert_parameters.h"
#include "bert/bert_training_model.h"
#include "bert/wordpiece_builder.h"
#include "common/cpu_count.h"
#include "common/error.h"
#include "nlu/heldout_calibration.h"
#include "nlu/training_split.h"

namespace chatbot::nlu {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t PeakResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// Token ids of every example, [CLS] ... [SEP], and their label index.
struct EncodedSet {
  std::vector<std::vector<int32_t>> ids;
  std::vector<int32_t> labels;  // -1: an intent the model does not know
};

EncodedSet Encode(const bert::BertTokenizer& tokenizer, int max_length,
                  const std::vector<TrainingExample>& examples,
                  const std::map<std::string, int>& label_index) {
  EncodedSet set;
  set.ids.resize(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    tokenizer.Encode(examples[i].text, max_length, &set.ids[i]);
    const auto it = label_index.find(examples[i].intent);
    set.labels.push_back(it == label_index.end() ? -1 : it->second);
  }
  return set;
}

bert::TrainingBatch MakeBatch(const EncodedSet& set, const std::vector<size_t>& rows,
                              int32_t pad_id) {
  bert::TrainingBatch batch;
  batch.batch_size = static_cast<int>(rows.size());
  size_t longest = 1;
  for (size_t r : rows) longest = std::max(longest, set.ids[r].size());
  batch.seq_len = static_cast<int>(longest);
  batch.input_ids.assign(rows.size() * longest, pad_id);
  batch.attention_mask.assign(rows.size() * longest, 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<int32_t>& ids = set.ids[rows[i]];
    std::copy(ids.begin(), ids.end(), batch.input_ids.begin() + i * longest);
    std::fill_n(batch.attention_mask.begin() + i * longest, ids.size(), 1);
    batch.labels.push_back(std::max(set.labels[rows[i]], 0));
  }
  return batch;
}

// Batches of one epoch: shuffled, then sorted by length inside windows of
// 50 batches so that a batch pads little, then the batches shuffled again so
// that lengths do not come in order.
std::vector<std::vector<size_t>> EpochBatches(const EncodedSet& set, int batch_size,
                                              bert::Rng& rng) {
  std::vector<size_t> order(set.ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t window = static_cast<size_t>(batch_size) * 50;
  for (size_t begin = 0; begin < order.size(); begin += window) {
    const auto end = order.begin() + std::min(order.size(), begin + window);
    std::stable_sort(order.begin() + begin, end,
                     [&](size_t a, size_t b) { return set.ids[a].size() < set.ids[b].size(); });
  }
  std::vector<std::vector<size_t>> batches;
  for (size_t begin = 0; begin < order.size(); begin += batch_size) {
    batches.emplace_back(order.begin() + begin,
                         order.begin() + std::min(order.size(), begin + batch_size));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

// Logits of every example of `set` with dropout off, [examples, labels].
std::vector<float> PredictLogits(bert::BertTrainingModel& model, const EncodedSet& set,
                                 int num_labels, int32_t pad_id) {
  std::vector<size_t> order(set.ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return set.ids[a].size() < set.ids[b].size(); });
  std::vector<float> logits(set.ids.size() * num_labels);
  std::vector<float> batch_logits;
  constexpr size_t kBatch = 64;
  for (size_t begin = 0; begin < order.size(); begin += kBatch) {
    std::vector<size_t> rows(order.begin() + begin,
                             order.begin() + std::min(order.size(), begin + kBatch));
    model.Predict(MakeBatch(set, rows, pad_id), &batch_logits);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::copy_n(batch_logits.begin() + i * num_labels, num_labels,
                  logits.begin() + rows[i] * num_labels);
    }
  }
  return logits;
}

double Accuracy(const std::vector<float>& logits, const EncodedSet& set, int num_labels) {
  if (set.ids.empty()) return 0;
  size_t correct = 0;
  for (size_t i = 0; i < set.ids.size(); ++i) {
    const float* row = logits.data() + i * num_labels;
    const int best = static_cast<int>(std::max_element(row, row + num_labels) - row);
    if (best == set.labels[i]) ++correct;
  }
  return static_cast<double>(correct) / set.ids.size();
}

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  const long total = static_cast<long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

}  // namespace

std::string ProgressLine(const BertTrainingProgress& p) {
  const std::string validation =
      p.validation_accuracy < 0 ? "-" : fmt::format("{:.2f}%", p.validation_accuracy * 100);
  return fmt::format(
      "epoch {}/{} step {}/{}: loss {:.4f}, validation accuracy {}, {:.0f} examples/s, "
      "elapsed {}, ETA {}",
      p.epoch, p.epochs, p.step, p.steps, p.loss, validation, p.examples_per_second,
      FormatDuration(p.elapsed_seconds), FormatDuration(p.eta_seconds));
}

BertTrainingResult TrainBertModel(const std::vector<TrainingExample>& all_training,
                                  const std::vector<TrainingExample>& validation,
                                  const BertTrainingOptions& options,
                                  const BertProgressCallback& progress) {
  const Clock::time_point start = Clock::now();
  BertTrainingResult result;
  result.training_examples = all_training.size();
  result.data_sha256 = TrainingDataSha256(all_training);
  result.from_scratch = options.init.empty();
  const auto [labels, train] =
      SplitForTraining(all_training, validation, options.validation_fraction, options.seed,
                       &result.heldout_examples, &result.heldout_from_split);
  const int num_labels = static_cast<int>(labels.size());
  std::map<std::string, int> label_index;
  for (int k = 0; k < num_labels; ++k) label_index[labels[k]] = k;

  // The architecture, vocabulary and initial parameters.
  bert::BertConfig config;
  bert::Vocabulary vocab;
  std::map<std::string, bert::Tensor> initial;
  if (!options.init.empty()) {
    bert::BertCheckpoint checkpoint = bert::BertCheckpoint::Load(options.init);
    config = checkpoint.config;
    vocab = std::move(checkpoint.vocab);
    initial = std::move(checkpoint.tensors);
  } else {
    std::vector<std::string> texts;
    texts.reserve(train.size());
    for (const TrainingExample& e : train) texts.push_back(e.text);
    bert::WordPieceBuilderOptions vocab_options;
    vocab_options.target_size = options.vocab_size;
    vocab = bert::BuildWordPieceVocabulary(texts, vocab_options);
    config = bert::BertConfig::Preset(options.size, vocab.size(), num_labels);
  }
  config.labels = labels;
  config.hidden_dropout_prob = static_cast<float>(options.dropout);
  config.attention_probs_dropout_prob = static_cast<float>(options.dropout);
  config.model_max_length = std::min(options.max_length, config.max_position_embeddings);
  config.Validate("BERT training");
  const bert::TokenizerOptions tokenizer_options = bert::TokenizerOptions::FromConfig(config);
  const bert::BertTokenizer tokenizer(vocab, tokenizer_options);

  bert::BertParameters params =
      initial.empty()
          ? bert::BertParameters::Initialize(config, num_labels, options.seed)
          : bert::BertParameters::FromTensors(config, initial, num_labels, options.seed);
  initial.clear();
  result.parameters = params.NumElements();

  const bool mean_head = options.head == BertTrainingOptions::Head::kMean ||
                         (options.head == BertTrainingOptions::Head::kAuto && result.from_scratch);
  bert::TrainingModelOptions model_options;
  model_options.head =
      mean_head ? bert::ClassifierHead::kMeanPooling : bert::ClassifierHead::kPooler;
  model_options.num_threads = options.threads > 0 ? options.threads : UsableCores();
  bert::BertTrainingModel model(&params, model_options);

  const int max_length = config.model_max_length;
  const EncodedSet train_set = Encode(tokenizer, max_length, train, label_index);
  const EncodedSet heldout_set =
      Encode(tokenizer, max_length, result.heldout_examples, label_index);
  const int32_t pad_id = vocab.pad_id();

  const int batch_size = std::max(1, options.batch_size);
  const int steps_per_epoch =
      static_cast<int>((train_set.ids.size() + batch_size - 1) / batch_size);
  const int64_t total_steps = static_cast<int64_t>(steps_per_epoch) * options.epochs;
  const bert::LinearSchedule schedule(
      static_cast<int64_t>(std::llround(options.warmup_fraction * total_steps)), total_steps);
  bert::AdamWOptions adam_options;
  adam_options.weight_decay = static_cast<float>(options.weight_decay);
  bert::AdamW optimizer(params, adam_options);
  bert::Gradients grads(params);
  bert::Rng rng(options.seed);

  // Early stopping keeps the parameters of the best validation epoch.
  std::vector<std::vector<float>> best_values;
  double best_accuracy = -1;
  int epochs_without_gain = 0;
  double training_seconds = 0;
  size_t trained_examples = 0;
  double last_validation = -1;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    const std::vector<std::vector<size_t>> batches = EpochBatches(train_set, batch_size, rng);
    double loss_sum = 0;
    size_t epoch_examples = 0;
    for (size_t b = 0; b < batches.size(); ++b) {
      const bert::TrainingBatch batch = MakeBatch(train_set, batches[b], pad_id);
      grads.Zero();
      const float loss = model.ForwardBackward(batch, /*train=*/true, rng, &grads);
      if (!std::isfinite(loss)) {
        throw Error("BERT training diverged at epoch " + std::to_string(epoch) + " step " +
                    std::to_string(b + 1) + " (loss is not finite); lower bert.learning_rate");
      }
      bert::ClipGradNorm(&grads, static_cast<float>(options.max_grad_norm));
      optimizer.Step(
          &params, grads,
          static_cast<float>(options.learning_rate * schedule.Factor(optimizer.step_count())));
      loss_sum += loss * batch.batch_size;
      epoch_examples += batch.batch_size;
      if (progress && (b % 20 == 19 || b + 1 == batches.size())) {
        const double elapsed = SecondsSince(start);
        const double rate = (trained_examples + epoch_examples) /
                            std::max(1e-9, training_seconds + SecondsSince(epoch_start));
        const double remaining_examples =
            static_cast<double>(train_set.ids.size()) * (options.epochs - epoch + 1) -
            epoch_examples;
        progress({epoch, options.epochs, static_cast<int>(b + 1), steps_per_epoch,
                  loss_sum / epoch_examples, last_validation, rate,
                  remaining_examples / std::max(rate, 1e-9), elapsed, false});
      }
    }
    training_seconds += SecondsSince(epoch_start);
    trained_examples += epoch_examples;

    const std::vector<float> logits = PredictLogits(model, heldout_set, num_labels, pad_id);
    last_validation = Accuracy(logits, heldout_set, num_labels);
    const double epoch_loss = epoch_examples ? loss_sum / epoch_examples : 0;
    result.history.push_back({epoch, epoch_loss, last_validation, SecondsSince(epoch_start)});
    if (last_validation > best_accuracy || heldout_set.ids.empty()) {
      best_accuracy = last_validation;
      result.best_epoch = epoch;
      epochs_without_gain = 0;
      best_values.clear();
      for (const bert::ParameterTensor& t : params.tensors()) best_values.push_back(t.values);
    } else {
      ++epochs_without_gain;
    }
    const double rate = trained_examples / std::max(training_seconds, 1e-9);
    const bool stop = epochs_without_gain >= options.patience ||
                      (options.max_seconds > 0 && SecondsSince(start) >= options.max_seconds);
    if (progress) {
      const double eta = stop ? 0
                              : static_cast<double>(train_set.ids.size()) *
                                    (options.epochs - epoch) / std::max(rate, 1e-9);
      progress({epoch, options.epochs, steps_per_epoch, steps_per_epoch, epoch_loss,
                last_validation, rate, eta, SecondsSince(start), true});
    }
    if (stop) break;
  }
  result.examples_per_second = trained_examples / std::max(training_seconds, 1e-9);
  for (size_t i = 0; i < best_values.size(); ++i) {
    params.mutable_tensors()[i].values = std::move(best_values[i]);
  }

  // The model as it will be served, calibrated on the held-out data.
  bert::BertCheckpoint checkpoint;
  checkpoint.config = config;
  checkpoint.vocab = vocab;
  checkpoint.tensors = params.ToTensors();
  auto served = std::make_unique<BertIntentModel>(
      std::move(checkpoint), mean_head ? BertPooling::kMean : BertPooling::kPooler, 1.0f, 0.0f);
  std::vector<float> heldout_logits;
  if (!result.heldout_examples.empty()) {
    std::vector<std::string> texts;
    for (const TrainingExample& e : result.heldout_examples) texts.push_back(e.text);
    constexpr size_t kBatch = 64;
    for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
      const size_t end = std::min(texts.size(), begin + kBatch);
      const std::vector<float> part =
          served->Logits(std::span<const std::string>(texts.data() + begin, end - begin));
      heldout_logits.insert(heldout_logits.end(), part.begin(), part.end());
    }
    const HeldOutCalibration calibration = CalibrateOnHeldOut(
        heldout_logits, served->labels(), result.heldout_examples, options.oos_max_in_scope_loss);
    served->set_temperature(calibration.temperature);
    served->set_out_of_scope_threshold(calibration.threshold.threshold);

    std::vector<std::string> expected, predicted;
    const std::vector<IntentPrediction> predictions = served->PredictBatch(texts, 1);
    for (size_t i = 0; i < texts.size(); ++i) {
      expected.push_back(result.heldout_examples[i].intent);
      predicted.push_back(predictions[i].intent);
    }
    result.heldout = ScorePredictions(expected, predicted);
  }
  result.smoke_examples = SmokeExamples(all_training, options.smoke_examples_per_intent);
  result.model = std::move(served);
  result.seconds = SecondsSince(start);
  result.peak_rss_bytes = PeakResidentBytes();
  return result;
}

}  // namespace chatbot::nlu
