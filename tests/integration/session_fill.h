// Fills a sessions database directly through the store: the bulk that makes
// a backup or a search take long enough for a test to interrupt or attack
// it.
#ifndef CHATBOT_TESTS_INTEGRATION_SESSION_FILL_H_
#define CHATBOT_TESTS_INTEGRATION_SESSION_FILL_H_

#include <filesystem>
#include <string>

#include "store/sqlite_session_store.h"

namespace chatbot::testing {

// `sessions` anonymous sessions named `prefix`N, created at 1000 + N ms,
// each of `turns` greeting turns whose user text is `text`.
inline void FillSessions(const std::filesystem::path& database, const std::string& prefix,
                         int sessions, int turns, const std::string& text) {
  auto store = store::SqliteSessionStore::Open(database, false);
  for (int s = 0; s < sessions; ++s) {
    const std::string id = prefix + std::to_string(s);
    store->CreateSession(id, 1000 + s, "anonymous");
    for (int t = 1; t <= turns; ++t) {
      store::Turn turn;
      turn.number = t;
      turn.user_text = text;
      turn.intent = "greeting";
      turn.reply = "Hello";
      turn.model = "svm";
      store->AppendTurn(id, turn, "{}");
    }
  }
}

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_SESSION_FILL_H_
