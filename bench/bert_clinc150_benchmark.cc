// Trains BERT from scratch on CLINC150 (../shared), calibrates the SVM + BERT
// ensemble on val, and prints one table comparing the SVM, BERT, the weighted
// ensemble and the cascade on test: in-scope accuracy, out-of-scope recall,
// training time, latency at batch 1, throughput at batch 32, and BERT's
// training throughput and memory.
//
//   build/release/bench/bert_clinc150_benchmark [--dataset DIR] [--size tiny|mini|small]
//       [--epochs N] [--lr X] [--batch N] [--max-seconds S] [--patience N]
//       [--threads N] [--save DIR] [--load DIR]
//
// --save keeps the trained BERT in DIR/bert; --load DIR skips BERT training
// and reads DIR/bert instead (for re-running the serving measurements).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nlu/bert_trainer.h"
#include "nlu/ensemble_classifier.h"
#include "nlu/evaluation.h"
#include "nlu/heldout_calibration.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"

namespace fs = std::filesystem;
using namespace chatbot::nlu;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Row {
  std::string name;
  EvaluationReport report;
  double train_seconds = 0;
  double p50_us = 0, p99_us = 0;
  double batch32_per_second = 0;
};

// Accuracy figures (with single-text latencies) and the throughput of
// PredictBatch over batches of 32, one thread.
Row Measure(const std::string& name, const IntentClassifier& model,
            const std::vector<TrainingExample>& test, double train_seconds) {
  Row row;
  row.name = name;
  row.train_seconds = train_seconds;
  row.report = Evaluate(model, test);
  row.p50_us = row.report.latency.p50_us;
  row.p99_us = row.report.latency.p99_us;
  std::vector<std::string> texts;
  for (const TrainingExample& e : test) texts.push_back(e.text);
  const Clock::time_point start = Clock::now();
  size_t done = 0;
  for (size_t begin = 0; begin + 32 <= texts.size(); begin += 32) {
    model.PredictBatch(std::span<const std::string>(texts.data() + begin, 32), 1);
    done += 32;
  }
  row.batch32_per_second = done / Seconds(start, Clock::now());
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dataset = fs::path(CHATBOT_SOURCE_DIR) / ".." / "shared" / "datasets" / "clinc150";
  BertTrainingOptions options;
  options.size = "tiny";
  options.epochs = 10;
  options.max_seconds = 14 * 60;
  options.patience = 5;
  fs::path save, load;
  bool recalibrate = false;
  bool proxy_svm = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dataset")
      dataset = value;
    else if (flag == "--size")
      options.size = value;
    else if (flag == "--epochs")
      options.epochs = std::atoi(value);
    else if (flag == "--lr")
      options.learning_rate = std::atof(value);
    else if (flag == "--batch")
      options.batch_size = std::atoi(value);
    else if (flag == "--max-seconds")
      options.max_seconds = std::atof(value);
    else if (flag == "--patience")
      options.patience = std::atoi(value);
    else if (flag == "--threads")
      options.threads = std::atoi(value);
    else if (flag == "--dropout")
      options.dropout = std::atof(value);
    else if (flag == "--vocab")
      options.vocab_size = std::atoi(value);
    else if (flag == "--save")
      save = value;
    else if (flag == "--load")
      load = value;
    else if (flag == "--proxy-svm")
      proxy_svm = std::atoi(value) != 0;
    else if (flag == "--recalibrate")
      recalibrate = std::atoi(value) != 0;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (!fs::exists(dataset / "train.jsonl")) {
    std::printf("SKIPPED: CLINC150 not found at %s (it lives in ../shared/datasets/clinc150)\n",
                dataset.c_str());
    return 0;
  }
  LoadOptions load_options;
  load_options.training = false;
  const auto train = LoadTrainingData({dataset / "train.jsonl"}).examples;
  const auto val = LoadTrainingData({dataset / "val.jsonl"}, load_options).examples;
  const auto test = LoadTrainingData({dataset / "test.jsonl"}, load_options).examples;

  // The SVM as served (refitted on train + val) and as the ensemble's weights
  // are chosen with (train only: val is new to it, as it is to BERT).
  SvmTrainingOptions svm_options;
  Clock::time_point t = Clock::now();
  SvmTrainingResult svm = TrainSvmModel(train, val, svm_options);
  const double svm_seconds = Seconds(t, Clock::now());
  svm_options.refit_with_validation = false;
  SvmTrainingResult svm_proxy = TrainSvmModel(train, val, svm_options);

  std::shared_ptr<BertIntentModel> bert;
  double bert_seconds = 0, bert_rate = 0;
  int64_t peak_rss = 0, parameters = 0;
  int epochs = 0, best_epoch = 0;
  if (!load.empty()) {
    bert = BertIntentModel::Load(load / "bert");
  } else {
    std::fprintf(stderr, "training BERT (%s) on %zu examples...\n", options.size.c_str(),
                 train.size());
    BertTrainingResult result =
        TrainBertModel(train, val, options, [](const BertTrainingProgress& p) {
          if (p.epoch_finished) {
            std::fprintf(stderr,
                         "epoch %d/%d: loss %.4f, validation accuracy %.2f%%, %.0f examples/s, "
                         "elapsed %.0fs\n",
                         p.epoch, p.epochs, p.loss, p.validation_accuracy * 100,
                         p.examples_per_second, p.elapsed_seconds);
          }
        });
    bert_seconds = result.seconds;
    bert_rate = result.examples_per_second;
    peak_rss = result.peak_rss_bytes;
    parameters = result.parameters;
    epochs = static_cast<int>(result.history.size());
    best_epoch = result.best_epoch;
    const EnsembleCalibration calibration =
        ChooseEnsembleWeights(*svm_proxy.model, *result.model, val, 0.01);
    result.model->set_ensemble(calibration);
    if (!save.empty()) {
      result.model->set_version("clinc150-benchmark");
      result.model->Save(save / "bert", result.heldout_examples, result.smoke_examples);
    }
    bert = std::move(result.model);
  }
  if (!bert->has_ensemble_calibration() || recalibrate) {
    bert->set_ensemble(ChooseEnsembleWeights(*svm_proxy.model, *bert, val, 0.01));
  }
  const EnsembleCalibration& calibration = bert->ensemble();

  omp_set_num_threads(1);
  std::shared_ptr<const SvmIntentModel> svm_model = std::move(svm.model);
  if (proxy_svm) svm_model = std::shared_ptr<const SvmIntentModel>(std::move(svm_proxy.model));
  const EnsembleClassifier weighted(svm_model, bert, calibration.Options(EnsembleMode::kWeighted));
  const EnsembleClassifier cascade(svm_model, bert, calibration.Options(EnsembleMode::kCascade));
  std::vector<Row> rows;
  rows.push_back(Measure("svm", *svm_model, test, svm_seconds));
  rows.push_back(Measure("bert " + options.size, *bert, test, bert_seconds));
  rows.push_back(Measure("ensemble (weighted)", weighted, test, bert_seconds + svm_seconds));
  rows.push_back(Measure("ensemble (cascade)", cascade, test, bert_seconds + svm_seconds));
  const EnsembleStats cascade_stats = cascade.Stats();

  std::printf(
      "\nCLINC150 full, test split (%zu examples, %zu out of scope); threshold and "
      "ensemble weights chosen on val; latency and throughput on one thread\n\n",
      test.size(), static_cast<size_t>(std::count_if(test.begin(), test.end(), [](auto& e) {
        return e.intent == kOutOfScopeLabel;
      })));
  std::printf("| %-22s | %9s | %9s | %9s | %10s | %10s | %12s |\n", "model", "in-scope", "OOS rec.",
              "train s", "p50 (b=1)", "p99 (b=1)", "b=32 texts/s");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(14, '-').c_str());
  for (const Row& r : rows) {
    std::printf("| %-22s | %8.2f%% | %8.2f%% | %9.1f | %7.0f us | %7.0f us | %12.0f |\n",
                r.name.c_str(), r.report.in_scope_accuracy * 100, r.report.oos_recall * 100,
                r.train_seconds, r.p50_us, r.p99_us, r.batch32_per_second);
  }
  std::printf(
      "\nensemble: svm weight %.2f, out-of-scope threshold %.4f; cascade threshold %.4f "
      "asked BERT for %.1f%% of test texts\n",
      calibration.svm_weight, calibration.oos_threshold, calibration.cascade_threshold,
      cascade_stats.predictions
          ? 100.0 * cascade_stats.bert_calls / static_cast<double>(cascade_stats.predictions)
          : 0.0);
  std::printf(
      "on val (%zu examples): in-scope accuracy / out-of-scope recall: svm %.2f%% / "
      "%.2f%% (trained on train only), bert %.2f%% / %.2f%%, ensemble %.2f%% / %.2f%%\n",
      calibration.examples, calibration.svm.in_scope_accuracy * 100,
      calibration.svm.oos_recall * 100, calibration.bert.in_scope_accuracy * 100,
      calibration.bert.oos_recall * 100, calibration.ensemble.in_scope_accuracy * 100,
      calibration.ensemble.oos_recall * 100);
  if (load.empty()) {
    std::printf(
        "bert training: %d epochs (best %d), %.1f s, %.0f examples/s, %.2f M parameters, "
        "peak resident memory %.0f MiB, %d threads\n",
        epochs, best_epoch, bert_seconds, bert_rate, parameters / 1e6, peak_rss / (1024.0 * 1024.0),
        options.threads > 0 ? options.threads
                            : static_cast<int>(std::thread::hardware_concurrency()));
  }
  return 0;
}
