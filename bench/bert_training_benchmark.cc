// Training throughput of the BERT classifier (bert/bert_training_model.h,
// bert/adamw.h): examples per second of ForwardBackward (dropout on) +
// ClipGradNorm + AdamW::Step at the sizes trained from scratch on CLINC150
// ("tiny": 2 layers, hidden 128; "mini": 4 layers, hidden 256), vocabulary
// 8000, 151 labels, batches of random sentences of 6-22 tokens (CLINC150's
// range after WordPiece) padded to the longest. Prints the time per step
// split into the forward/backward pass and the optimiser, and the process's
// CPU time per step (on a busy machine the wall time overstates the cost).
//
//   bert_training_benchmark [tiny|mini] [threads] [batch] [steps]
#include <omp.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bert/adamw.h"
#include "bert/bert_config.h"
#include "bert/bert_parameters.h"
#include "bert/bert_training_model.h"

using namespace chatbot::bert;

int main(int argc, char** argv) {
  const std::string size = argc > 1 ? argv[1] : "tiny";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int batch_size = argc > 3 ? std::atoi(argv[3]) : 32;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 40;
  constexpr int kVocab = 8000;
  constexpr int kLabels = 151;
  omp_set_num_threads(threads);

  const BertConfig config = BertConfig::Preset(size, kVocab, kLabels);
  BertParameters params = BertParameters::Initialize(config, kLabels, 1);
  TrainingModelOptions options;
  options.num_threads = threads;
  BertTrainingModel model(&params, options);
  Gradients grads(params);
  AdamW adamw(params, AdamWOptions{});
  Rng rng(7);

  std::mt19937_64 data_rng(3);
  auto make_batch = [&] {
    TrainingBatch b;
    b.batch_size = batch_size;
    std::vector<int> lengths(static_cast<size_t>(batch_size));
    int longest = 0;
    for (int& len : lengths) {
      len = 6 + static_cast<int>(data_rng() % 17);
      longest = std::max(longest, len);
    }
    b.seq_len = longest;
    for (int len : lengths) {
      for (int p = 0; p < longest; ++p) {
        b.input_ids.push_back(p < len ? 1 + static_cast<int>(data_rng() % (kVocab - 1)) : 0);
        b.attention_mask.push_back(p < len ? 1 : 0);
      }
      b.labels.push_back(static_cast<int>(data_rng() % kLabels));
    }
    return b;
  };
  std::vector<TrainingBatch> batches;
  for (int i = 0; i < steps; ++i) batches.push_back(make_batch());

  using Clock = std::chrono::steady_clock;
  auto cpu_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  double cpu_start = 0;
  double pass_s = 0;
  double optimizer_s = 0;
  const int warmup = 3;
  for (int i = 0; i < steps + warmup; ++i) {
    if (i == warmup) cpu_start = cpu_seconds();
    const TrainingBatch& b = batches[static_cast<size_t>(i % steps)];
    const auto t0 = Clock::now();
    grads.Zero();
    model.ForwardBackward(b, true, rng, &grads);
    const auto t1 = Clock::now();
    ClipGradNorm(&grads, 1.0f);
    adamw.Step(&params, grads, 1e-4f);
    const auto t2 = Clock::now();
    if (i >= warmup) {
      pass_s += std::chrono::duration<double>(t1 - t0).count();
      optimizer_s += std::chrono::duration<double>(t2 - t1).count();
    }
  }
  const double cpu_ms = 1e3 * (cpu_seconds() - cpu_start) / steps;
  const double step_ms = 1e3 * (pass_s + optimizer_s) / steps;
  std::printf(
      "%s (%lld parameters), %d threads, batch %d: %.1f ms/step (forward+backward %.1f ms, "
      "clip+AdamW %.1f ms), %.0f examples/s; CPU time %.1f ms/step\n",
      size.c_str(), static_cast<long long>(params.NumElements()), threads, batch_size, step_ms,
      1e3 * pass_s / steps, 1e3 * optimizer_s / steps, batch_size * steps / (pass_s + optimizer_s),
      cpu_ms);
  return 0;
}
