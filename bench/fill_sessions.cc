// Fills a session database for the operations benchmark
// (bench/ops_benchmark.sh): N sessions of T turns each, through the store,
// as the service would have written them (owner "anonymous", so that
// requests without a key may continue them). With TEXT_CHARS, every user
// message is that many 'a' instead (bench/search_stall_benchmark.sh: long
// texts that almost match a search).
//
//   fill_sessions DATABASE SESSIONS TURNS [TEXT_CHARS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/sqlite_session_store.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s DATABASE SESSIONS TURNS [TEXT_CHARS]\n", argv[0]);
    return 2;
  }
  const int sessions = std::atoi(argv[2]);
  const int turns = std::atoi(argv[3]);
  const std::string long_text(argc == 5 ? static_cast<size_t>(std::atoi(argv[4])) : 0, 'a');
  const auto start = std::chrono::steady_clock::now();
  auto store = chatbot::store::SqliteSessionStore::Open(argv[1], false);
  const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() -
                       int64_t{sessions} * 10;
  const char* texts[] = {"where is my order", "can I pay with paypal", "I want to return my boots",
                         "what are your opening hours"};
  for (int s = 0; s < sessions; ++s) {
    char id[40];
    std::snprintf(id, sizeof id, "bench%027d", s);
    const int64_t now = base + int64_t{s} * 10;
    store->CreateSession(id, now, "anonymous");
    for (int t = 1; t <= turns; ++t) {
      chatbot::store::Turn turn;
      turn.number = t;
      turn.user_text = argc == 5 ? long_text : texts[(s + t) % 4];
      turn.intent = "order_status";
      turn.confidence = 0.93;
      turn.reply = "You can follow your order with the tracking link in your shipping email.";
      turn.model = "svm";
      turn.model_version = "bench";
      turn.received_at_ms = now + t;
      turn.replied_at_ms = now + t;
      store->AppendTurn(id, turn, "{\"v\":{\"order_status\":1}}");
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d sessions, %d turns in %.1f s\n", sessions, sessions * turns, seconds);
  return 0;
}
