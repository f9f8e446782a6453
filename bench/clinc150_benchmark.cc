// Trains and evaluates the SVM intent model on CLINC150 (../shared) and
// prints one table: accuracy (the CLINC150 protocol), training time, model
// load time and size, single-query latency and batch throughput.
//
//   build/release/bench/clinc150_benchmark [--dataset DIR] [--repeat N] [--refit 0|1]
//       [--c C] [--char-min N] [--char-max N] [--word-max N] [--min-df N]
//       [--oos-loss POINTS] [--epsilon E] [--solver native|liblinear]
//
// Training uses train.jsonl, the out-of-scope threshold is chosen on
// val.jsonl, and every figure is reported on test.jsonl.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nlu/evaluation.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"

namespace fs = std::filesystem;
using namespace chatbot::nlu;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double Median(std::vector<double> v) {
  return Percentile(std::move(v), 50);
}

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) total += entry.file_size();
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dataset = fs::path(CHATBOT_SOURCE_DIR) / ".." / "shared" / "datasets" / "clinc150";
  int repeat = 3;
  SvmTrainingOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dataset")
      dataset = value;
    else if (flag == "--repeat")
      repeat = std::max(1, std::atoi(value));
    else if (flag == "--c")
      options.svm.c = std::atof(value);
    else if (flag == "--char-min")
      options.tfidf.ngrams.char_ngram_min = std::atoi(value);
    else if (flag == "--char-max")
      options.tfidf.ngrams.char_ngram_max = std::atoi(value);
    else if (flag == "--word-max")
      options.tfidf.ngrams.word_ngram_max = std::atoi(value);
    else if (flag == "--min-df")
      options.tfidf.min_df = std::atoi(value);
    else if (flag == "--epsilon")
      options.svm.epsilon = std::atof(value);
    else if (flag == "--refit")
      options.refit_with_validation = std::atoi(value) != 0;
    else if (flag == "--oos-loss")
      options.oos_max_in_scope_loss = std::atof(value) / 100;
    else if (flag == "--solver")
      options.svm.solver =
          std::strcmp(value, "liblinear") == 0 ? SvmSolver::kLiblinear : SvmSolver::kNative;
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
  LoadOptions load;
  load.training = false;
  const TrainingData train = LoadTrainingData({dataset / "train.jsonl"});
  const TrainingData val = LoadTrainingData({dataset / "val.jsonl"}, load);
  const TrainingData test = LoadTrainingData({dataset / "test.jsonl"}, load);

  // Training time: median of `repeat` runs.
  std::vector<double> train_seconds;
  SvmTrainingResult result;
  for (int r = 0; r < repeat; ++r) {
    const auto start = Clock::now();
    result = TrainSvmModel(train.examples, val.examples, options);
    train_seconds.push_back(Seconds(start, Clock::now()));
  }

  const fs::path dir = fs::temp_directory_path() / ("clinc150-bench-" + std::to_string(getpid()));
  result.model->Save(dir / "svm", result.heldout_examples, result.smoke_examples);
  std::vector<double> load_seconds;
  std::unique_ptr<SvmIntentModel> model;
  for (int r = 0; r < std::max(repeat, 5); ++r) {
    const auto start = Clock::now();
    model = SvmIntentModel::Load(dir / "svm");
    load_seconds.push_back(Seconds(start, Clock::now()));
  }
  const uint64_t model_bytes = DirectoryBytes(dir / "svm");

  // Accuracy with the "oos" class alone (no threshold) and with the
  // threshold chosen on val.
  const float threshold = model->out_of_scope_threshold();
  model->set_out_of_scope_threshold(0);
  const EvaluationReport plain = Evaluate(*model, test.examples);
  model->set_out_of_scope_threshold(threshold);
  const EvaluationReport thresholded = Evaluate(*model, test.examples);

  // Single-query latency: every test text, several passes, one at a time.
  std::vector<double> latencies;
  for (int pass = 0; pass < 5; ++pass) {
    for (const TrainingExample& e : test.examples) {
      const auto start = Clock::now();
      const IntentPrediction p = model->Predict(e.text, 5);
      latencies.push_back(Seconds(start, Clock::now()) * 1e6);
      if (p.ranking.empty()) return 1;
    }
  }

  // Batch throughput: all test texts, split over one thread per core.
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const int passes = 20;
  const auto batch_start = Clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int pass = 0; pass < passes; ++pass) {
        for (size_t i = t; i < test.examples.size(); i += threads) {
          model->Predict(test.examples[i].text, 5);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double batch_seconds = Seconds(batch_start, Clock::now());
  const double throughput = passes * test.examples.size() / batch_seconds;
  fs::remove_all(dir);

  std::printf(
      "CLINC150 full (%s): train %zu, val %zu, test %zu examples; %zu features; %s solver; "
      "final model %s\n\n",
      dataset.c_str(), train.examples.size(), val.examples.size(), test.examples.size(),
      model->num_features(), options.svm.solver == SvmSolver::kNative ? "native" : "LIBLINEAR",
      result.refitted ? "refitted on train + val" : "trained on train only");
  std::printf("| %-52s | %12s | %10s |\n", "measure (test split)", "value", "target");
  std::printf("|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(14, '-').c_str(),
              std::string(12, '-').c_str());
  auto row = [](const char* name, const std::string& value, const char* target) {
    std::printf("| %-52s | %12s | %10s |\n", name, value.c_str(), target);
  };
  auto pct = [](double v) { return std::to_string(v * 100).substr(0, 5) + " %"; };
  char buffer[64];
  row("in-scope accuracy, oos class alone", pct(plain.in_scope_accuracy), ">= 93.0 %");
  row("out-of-scope recall, oos class alone", pct(plain.oos_recall), "");
  row("overall accuracy, oos class alone", pct(plain.accuracy), "");
  row("in-scope accuracy, threshold from val", pct(thresholded.in_scope_accuracy), ">= 92 %");
  row("out-of-scope recall, threshold from val", pct(thresholded.oos_recall), ">= 60 %");
  row("out-of-scope precision, threshold from val", pct(thresholded.oos_precision), "");
  row("overall accuracy, threshold from val", pct(thresholded.accuracy), "");
  std::snprintf(buffer, sizeof buffer, "%.4f", threshold);
  row("out-of-scope threshold (chosen on val)", buffer, "");
  std::snprintf(buffer, sizeof buffer, "%.2f s", Median(train_seconds));
  row(("training time (median of " + std::to_string(repeat) + ")").c_str(), buffer, "<= 3 s");
  std::snprintf(buffer, sizeof buffer, "%.1f ms", Median(load_seconds) * 1e3);
  row("model load time incl. checksums (median)", buffer, "<= 200 ms");
  std::snprintf(buffer, sizeof buffer, "%.1f MB", model_bytes / 1e6);
  row("model files", buffer, "<= 50 MB");
  std::snprintf(buffer, sizeof buffer, "%.1f us", Percentile(latencies, 50));
  row("single-query latency p50", buffer, "<= 30 us");
  std::snprintf(buffer, sizeof buffer, "%.1f us", Percentile(latencies, 99));
  row("single-query latency p99", buffer, "<= 100 us");
  std::snprintf(buffer, sizeof buffer, "%.0f /s", throughput);
  row(("batch throughput, " + std::to_string(threads) + " threads").c_str(), buffer, "");
  return 0;
}
