// The security pipeline in-process (src/security/access_control.h): what
// AccessControl::Admit costs per request, without a key and with one, with
// 1 and with 100,001 keys in the table, on 1 and 2 threads (one shared key,
// the worst case for its counters and bucket).
//
//   build/release/bench/access_control_benchmark
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "security/access_control.h"
#include "security/api_key.h"

namespace chatbot::security {
namespace {

namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Fixture {
  explicit Fixture(int extra_keys) {
    dir = fs::temp_directory_path() /
          ("chatbot-admit-bench-" + std::to_string(::getpid()) + "-" + std::to_string(extra_keys));
    fs::remove_all(dir);
    store = KeyStore::Open(dir / "keys.db");
    audit = std::make_unique<AuditLog>(dir / "audit.log");
    Settings settings;
    settings.security.rate_limit_anonymous = 0;
    access = std::make_unique<AccessControl>(SecurityOptions::FromSettings(settings), store.get(),
                                             audit.get(), SystemClock::Instance());
    access->Start(/*background=*/false);
    NewKey request;
    request.name = "bench";
    request.role = Role::kClient;
    request.rate_limit = 1e6;
    request.burst = 1e9;  // never empty at millions of requests per second
    key = access->CreateKey(request, Actor::System("bench")).key;
    std::vector<KeyRecord> many(static_cast<size_t>(extra_keys));
    for (size_t i = 0; i < many.size(); ++i) {
      many[i].id = KeyIdText(0x100000000ULL + i);
      many[i].name = "load";
      many[i].secret_hash = HashSecret(many[i].id, "x");
      many[i].created_by = "bench";
    }
    if (!many.empty()) store->InsertMany(many);
    access->Reload();
    keyed = {{"host", "127.0.0.1"},
             {"content-type", "application/json"},
             {"authorization", "Bearer " + key},
             {"content-length", "40"}};
    anonymous = {
        {"host", "127.0.0.1"}, {"content-type", "application/json"}, {"content-length", "40"}};
  }
  ~Fixture() {
    access.reset();
    fs::remove_all(dir);
  }
  fs::path dir;
  std::unique_ptr<KeyStore> store;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<AccessControl> access;
  std::string key;
  Headers keyed;
  Headers anonymous;
};

Fixture& Shared(int extra_keys) {
  static Fixture one(0);
  static Fixture many(100000);
  return extra_keys == 0 ? one : many;
}

void Admit(benchmark::State& state, bool with_key) {
  Fixture& f = Shared(static_cast<int>(state.range(0)));
  AccessRequest request;
  request.method = "POST";
  request.path = "/v1/parse";
  request.headers = with_key ? &f.keyed : &f.anonymous;
  request.peer = *IpAddress::Parse("127.0.0.1");
  Principal principal;
  Refusal refusal;
  for (auto _ : state) {
    if (!f.access->Admit(request, &principal, &refusal)) state.SkipWithError("refused");
    benchmark::DoNotOptimize(principal);
  }
}

void BM_AdmitWithoutKey(benchmark::State& state) {
  Admit(state, false);
}
void BM_AdmitWithKey(benchmark::State& state) {
  Admit(state, true);
}
BENCHMARK(BM_AdmitWithoutKey)->Arg(0)->Threads(1)->Threads(2);
BENCHMARK(BM_AdmitWithKey)->Arg(0)->Arg(100000)->Threads(1)->Threads(2);

}  // namespace
}  // namespace chatbot::security

BENCHMARK_MAIN();
