// Google Benchmark of what the admin console asks the session store: search
// (FindSessions by text, by intent, by text within the last day), the review
// of unsure turns of the last week, and the export of labels, on a store of
// 30 days of traffic: 50,000 sessions of 3 turns, one turn in 20 unsure or
// out of scope. The database lives under $TMPDIR, built once per process
// (a few seconds). The figures are in docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite_session_store.h"

using chatbot::store::ReviewQuery;
using chatbot::store::SessionQuery;
using chatbot::store::SqliteSessionStore;
using chatbot::store::Turn;

namespace {

namespace fs = std::filesystem;

constexpr int kSessions = 50'000;
constexpr int kTurnsPerSession = 3;
constexpr int64_t kDayMs = 86'400'000;
constexpr int kLabels = 1'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SearchDb {
 public:
  SearchDb() : now_ms_(NowMs()) {
    std::string pattern = (fs::temp_directory_path() / "chatbot-search-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    store_ = SqliteSessionStore::Open(dir_ / "sessions.db", false);
    static const char* kTexts[][2] = {{"where is my order", "order_status"},
                                      {"can I pay with paypal", "payment_methods"},
                                      {"I want to return my boots", "return_item"},
                                      {"when do I get my refund", "refund_status"},
                                      {"hello there", "greeting"}};
    const int64_t start = now_ms_ - 30 * kDayMs;
    const int64_t step = 30 * kDayMs / kSessions;
    int labelled = 0;
    for (int s = 0; s < kSessions; ++s) {
      const std::string id = "bench" + std::to_string(s);
      const int64_t created = start + s * step;
      store_->CreateSession(id, created, "anonymous");
      for (int t = 1; t <= kTurnsPerSession; ++t) {
        const int k = (s + t) % 5;
        Turn turn;
        turn.number = t;
        turn.user_text = std::string(kTexts[k][0]) + " #" + std::to_string(s);
        const bool unsure = (s * kTurnsPerSession + t) % 20 == 0;
        turn.intent = unsure && t % 2 ? "oos" : kTexts[k][1];
        turn.out_of_scope = turn.intent == "oos";
        turn.confidence = unsure ? 0.3 : 0.92;
        turn.reply = "A reply about " + std::string(kTexts[k][1]);
        turn.model = "svm";
        turn.model_version = "bench";
        turn.received_at_ms = created + t * 1000;
        turn.replied_at_ms = turn.received_at_ms + 2;
        store_->AppendTurn(id, turn, "{}");
        if (unsure && labelled < kLabels && s > kSessions / 2) {
          store_->LabelTurn(id, t, "order_status", "key:bench", created + t * 1000 + 5);
          ++labelled;
        }
      }
    }
  }
  ~SearchDb() {
    store_.reset();
    std::error_code error;
    fs::remove_all(dir_, error);
  }
  SqliteSessionStore& store() { return *store_; }
  int64_t now_ms() const { return now_ms_; }

 private:
  int64_t now_ms_;
  fs::path dir_;
  std::unique_ptr<SqliteSessionStore> store_;
};

SearchDb& Db() {
  static SearchDb db;
  return db;
}

void BM_ListSessions(benchmark::State& state) {
  auto& store = Db().store();
  for (auto _ : state) benchmark::DoNotOptimize(store.ListSessions(50, std::nullopt));
}
BENCHMARK(BM_ListSessions)->Unit(benchmark::kMicrosecond);

// A text in one session in 5, reported 50 at a time.
void BM_FindSessionsText(benchmark::State& state) {
  auto& store = Db().store();
  SessionQuery query;
  query.limit = 50;
  query.text = "REFUND";
  for (auto _ : state) benchmark::DoNotOptimize(store.FindSessions(query));
}
BENCHMARK(BM_FindSessionsText)->Unit(benchmark::kMicrosecond);

// A text in one session only: every turn of the store is read.
void BM_FindSessionsRareText(benchmark::State& state) {
  auto& store = Db().store();
  SessionQuery query;
  query.limit = 50;
  query.text = "boots #17";
  for (auto _ : state) benchmark::DoNotOptimize(store.FindSessions(query));
}
BENCHMARK(BM_FindSessionsRareText)->Unit(benchmark::kMillisecond);

// The same, narrowed to the last day: only recent sessions are read.
void BM_FindSessionsRareTextLastDay(benchmark::State& state) {
  auto& store = Db().store();
  SessionQuery query;
  query.limit = 50;
  query.text = "boots #49990";
  query.active_since_ms = Db().now_ms() - kDayMs;
  for (auto _ : state) benchmark::DoNotOptimize(store.FindSessions(query));
}
BENCHMARK(BM_FindSessionsRareTextLastDay)->Unit(benchmark::kMicrosecond);

void BM_FindSessionsIntent(benchmark::State& state) {
  auto& store = Db().store();
  SessionQuery query;
  query.limit = 50;
  query.intent = "oos";
  for (auto _ : state) benchmark::DoNotOptimize(store.FindSessions(query));
}
BENCHMARK(BM_FindSessionsIntent)->Unit(benchmark::kMicrosecond);

// The console's Review tab: the last 7 days, 100 per page.
void BM_ReviewLastWeek(benchmark::State& state) {
  auto& store = Db().store();
  ReviewQuery query;
  query.since_ms = Db().now_ms() - 7 * kDayMs;
  query.limit = 100;
  query.status = state.range(0) ? ReviewQuery::Status::kUnlabelled : ReviewQuery::Status::kAll;
  for (auto _ : state) benchmark::DoNotOptimize(store.FindTurnsForReview(query));
}
BENCHMARK(BM_ReviewLastWeek)->Arg(0)->Arg(1)->ArgName("unlabelled")->Unit(benchmark::kMicrosecond);

void BM_ListLabels(benchmark::State& state) {
  auto& store = Db().store();
  for (auto _ : state) benchmark::DoNotOptimize(store.ListLabels(0));
  state.counters["labels"] = static_cast<double>(store.ListLabels(0).size());
}
BENCHMARK(BM_ListLabels)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
