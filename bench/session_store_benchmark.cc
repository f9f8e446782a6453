// Google Benchmark of the session store's hot path: what one chat request
// costs in storage (GetSession without turns, then AppendTurn). The database
// lives under the system's temporary directory ($TMPDIR), so measure on the
// file system the service will use. See docs/sessions.md for the figures.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite_session_store.h"

using chatbot::store::SqliteSessionStore;
using chatbot::store::Turn;

namespace {

namespace fs = std::filesystem;

// One database per synchronous mode, for the whole process, removed at exit.
class BenchDb {
 public:
  explicit BenchDb(bool full_sync) {
    std::string pattern = (fs::temp_directory_path() / "chatbot-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    store_ = SqliteSessionStore::Open(dir_ / "sessions.db", full_sync);
  }
  ~BenchDb() {
    store_.reset();
    std::error_code error;
    fs::remove_all(dir_, error);
  }
  SqliteSessionStore& store() { return *store_; }

 private:
  fs::path dir_;
  std::unique_ptr<SqliteSessionStore> store_;
};

SqliteSessionStore& Store(bool full_sync) {
  static BenchDb normal(false);
  static BenchDb full(true);
  return full_sync ? full.store() : normal.store();
}

// Session ids unique across runs (Google Benchmark calls each function
// several times while it picks the iteration count).
std::string NewSessionId() {
  static std::atomic<int64_t> next{0};
  return "bench-session-" + std::to_string(next++);
}

Turn MakeTurn(int64_t number) {
  Turn turn;
  turn.number = number;
  turn.user_text = "I ordered a tent two weeks ago and it still has not arrived";
  turn.intent = "order_status";
  turn.confidence = 0.93;
  turn.reply = "I'm sorry about the wait. Could you give me your order number?";
  turn.model = "svm";
  turn.model_version = "20240501-120000";
  turn.received_at_ms = 1'714'566'900'000 + number;
  turn.replied_at_ms = turn.received_at_ms + 3;
  return turn;
}

// A realistic dialogue state: a few hundred bytes of JSON.
const std::string kState =
    R"({"last_intent":"order_status","pending_clarification":null,"slots":{"order_number":null},)"
    R"("history":["greeting","order_status"],"turns_since_fallback":2,"language":"en"})";

// Appends turns round-robin to 64 sessions per thread, as interleaved
// conversations do. range(0): 1 for synchronous=FULL.
void BM_AppendTurn(benchmark::State& state) {
  SqliteSessionStore& store = Store(state.range(0) == 1);
  constexpr size_t kSessions = 64;
  std::vector<std::string> ids;
  std::vector<int64_t> turn_counts(kSessions, 0);
  for (size_t i = 0; i < kSessions; ++i) {
    ids.push_back(NewSessionId());
    store.CreateSession(ids.back(), 1'714'566'900'000);
  }
  size_t i = 0;
  for (auto _ : state) {
    store.AppendTurn(ids[i], MakeTurn(++turn_counts[i]), kState);
    i = (i + 1) % kSessions;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendTurn)->Arg(0)->ArgName("full_sync")->UseRealTime();
BENCHMARK(BM_AppendTurn)->Arg(0)->ArgName("full_sync")->Threads(2)->UseRealTime();
BENCHMARK(BM_AppendTurn)->Arg(1)->ArgName("full_sync")->UseRealTime();

// GetSession without turns on sessions of 10 turns each.
void BM_GetSession(benchmark::State& state) {
  SqliteSessionStore& store = Store(false);
  const bool with_turns = state.range(0) == 1;
  constexpr size_t kSessions = 1000;
  static std::vector<std::string> ids = [&] {
    std::vector<std::string> made;
    for (size_t i = 0; i < kSessions; ++i) {
      made.push_back(NewSessionId());
      store.CreateSession(made.back(), 1'714'566'900'000);
      for (int64_t n = 1; n <= 10; ++n) store.AppendTurn(made.back(), MakeTurn(n), kState);
    }
    return made;
  }();
  size_t i = static_cast<size_t>(state.thread_index()) * 7;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.GetSession(ids[i], with_turns));
    i = (i + 13) % kSessions;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetSession)->Arg(0)->ArgName("with_turns")->UseRealTime();
BENCHMARK(BM_GetSession)->Arg(0)->ArgName("with_turns")->Threads(2)->UseRealTime();
BENCHMARK(BM_GetSession)->Arg(1)->ArgName("with_turns")->UseRealTime();

// One chat request's storage work: read the session, append the turn.
void BM_ChatTurn(benchmark::State& state) {
  SqliteSessionStore& store = Store(false);
  const std::string id = NewSessionId();
  store.CreateSession(id, 1'714'566'900'000);
  int64_t turn_count = 0;
  for (auto _ : state) {
    const auto session = store.GetSession(id, false);
    store.AppendTurn(id, MakeTurn(session->summary.turn_count + 1), kState);
    ++turn_count;
  }
  state.SetItemsProcessed(turn_count);
}
BENCHMARK(BM_ChatTurn)->UseRealTime();

void BM_CreateSession(benchmark::State& state) {
  SqliteSessionStore& store = Store(false);
  for (auto _ : state) store.CreateSession(NewSessionId(), 1'714'566'900'000);
}
BENCHMARK(BM_CreateSession)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
