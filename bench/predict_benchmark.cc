// Google Benchmark of the prediction path on a model trained on the default
// domain: normalisation + features + scoring + calibration + ranking.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "nlu/svm_trainer.h"
#include "nlu/text_normalizer.h"
#include "nlu/training_data.h"

using namespace chatbot::nlu;

namespace {

const SvmIntentModel& Model() {
  static const std::unique_ptr<SvmIntentModel> model = [] {
    const TrainingData data =
        LoadTrainingData({std::filesystem::path(CHATBOT_SOURCE_DIR) / "data" / "domain"});
    return TrainSvmModel(data.examples, {}, SvmTrainingOptions{}).model;
  }();
  return *model;
}

const char* const kQueries[] = {
    "where is my order",
    "I ordered a tent two weeks ago and it still has not arrived, what is going on?",
    "can i pay with paypal",
    "Ich möchte meine Bestellung stornieren",
};

void BM_Predict(benchmark::State& state) {
  const SvmIntentModel& model = Model();
  const char* query = kQueries[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(model.Predict(query, 5));
  state.SetLabel(query);
}
BENCHMARK(BM_Predict)->DenseRange(0, 3);

void BM_Normalize(benchmark::State& state) {
  const TextNormalizer normalizer;
  std::string out;
  const char* query = kQueries[state.range(0)];
  for (auto _ : state) {
    normalizer.Normalize(query, &out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Normalize)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
