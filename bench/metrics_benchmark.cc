// What the service's metrics cost (Google Benchmark): recording a request
// and a prediction on the hot path, from 1 and more threads, and rendering
// a busy service's /metrics page (every route and status, 150 intents).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ops/process_stats.h"
#include "server/service_metrics.h"

namespace {

using chatbot::server::ServiceMetrics;

std::vector<std::string> Intents() {
  std::vector<std::string> intents;
  for (int i = 0; i < 150; ++i) intents.push_back("intent_" + std::to_string(i));
  return intents;
}

ServiceMetrics& Busy() {
  static ServiceMetrics* metrics = [] {
    auto* m = new ServiceMetrics();
    const char* paths[] = {"/v1/parse",    "/v1/parse/batch", "/v1/chat",
                           "/v1/sessions", "/v1/sessions/x",  "/v1/model",
                           "/health",      "/metrics",        "/nowhere"};
    for (const char* path : paths) {
      for (int status : {200, 400, 401, 403, 404, 422, 429, 500, 503}) {
        m->ObserveRequest(path, status, 900);
      }
    }
    chatbot::nlu::IntentPrediction p;
    for (const std::string& intent : Intents()) {
      p.intent = intent;
      for (const char* endpoint : {"parse", "batch", "chat"}) {
        m->ObservePrediction("svm", endpoint, p, 2e-5);
      }
    }
    for (const char* kind : {"answer", "clarification", "fallback"}) m->ObserveChatReply(kind);
    m->ObserveBatch("svm", "request", 16);
    m->ObserveCache("bert", true);
    chatbot::ops::AddProcessCollector(&m->registry(), {"/tmp"});
    return m;
  }();
  return *metrics;
}

void BM_ObserveRequest(benchmark::State& state) {
  ServiceMetrics& m = Busy();
  for (auto _ : state) m.ObserveRequest("/v1/parse", 200, 850);
}
BENCHMARK(BM_ObserveRequest)->Threads(1)->Threads(2)->Threads(8);

void BM_ObservePrediction(benchmark::State& state) {
  ServiceMetrics& m = Busy();
  const std::vector<std::string> intents = Intents();
  chatbot::nlu::IntentPrediction p;
  size_t i = 0;
  for (auto _ : state) {
    p.intent = intents[i++ % intents.size()];
    m.ObservePrediction("svm", "parse", p, 2e-5);
  }
}
BENCHMARK(BM_ObservePrediction)->Threads(1)->Threads(2)->Threads(8);

void BM_InFlight(benchmark::State& state) {
  ServiceMetrics& m = Busy();
  for (auto _ : state) ServiceMetrics::InFlight in_flight(m);
}
BENCHMARK(BM_InFlight)->Threads(1)->Threads(8);

void BM_Render(benchmark::State& state) {
  ServiceMetrics& m = Busy();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string page = m.registry().Render();
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
