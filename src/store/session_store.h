// Conversation sessions and their turns, behind an interface so that the
// HTTP handlers do not depend on where sessions live: SQLite on one machine
// (sqlite_session_store.h), PostgreSQL when several instances share the load
// (a later issue).
//
// Durability contract: when AppendTurn returns, the turn and the session's
// new dialogue state are committed; a crash of the process afterwards
// (kill -9 included) never loses them.
#ifndef CHATBOT_STORE_SESSION_STORE_H_
#define CHATBOT_STORE_SESSION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatbot::store {

struct Turn {
  int64_t number = 0;  // 1, 2, ... within the session
  std::string user_text;
  std::string intent;
  double confidence = 0;
  bool out_of_scope = false;
  std::string reply;
  std::string model;           // "svm"
  std::string model_version;   // the manifest's version
  int64_t received_at_ms = 0;  // Unix time, milliseconds
  int64_t replied_at_ms = 0;
};

struct SessionSummary {
  std::string id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t turn_count = 0;
  // Who created it: "key:<id>" or "anonymous" (docs/security.md); "" for
  // sessions stored before owners were recorded (only operators see those).
  std::string owner = {};
};

struct Session {
  SessionSummary summary;
  // The dialogue engine's state (JSON), opaque to the store.
  std::string dialogue_state;
  std::vector<Turn> turns;  // oldest first; empty unless asked for
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Creates an empty session. Creation times are distinct and increasing:
  // one created in the same millisecond as the previous is stamped later, so
  // ListSessions' `before` paging never skips a session. Throws StoreError if
  // the id exists.
  // `owner` is recorded with it (SessionSummary::owner).
  virtual void CreateSession(const std::string& id, int64_t now_ms,
                             const std::string& owner = {}) = 0;

  // The session, with its turns when `with_turns`; nullopt when unknown.
  virtual std::optional<Session> GetSession(const std::string& id, bool with_turns) = 0;

  // Appends `turn` (its number must be the session's turn_count + 1) and
  // replaces the session's dialogue state, in one transaction; returns once
  // committed. Throws StoreError (unknown session, wrong turn number, I/O).
  virtual void AppendTurn(const std::string& session_id, const Turn& turn,
                          const std::string& dialogue_state) = 0;

  // False when there was no such session.
  virtual bool DeleteSession(const std::string& id) = 0;

  // Most recently created first; `before_ms` pages: only sessions created
  // strictly before it. With `owner`, only the sessions it created.
  virtual std::vector<SessionSummary> ListSessions(
      int limit, std::optional<int64_t> before_ms,
      const std::optional<std::string>& owner = std::nullopt) = 0;

  // Deletes sessions whose last activity is older than `cutoff_ms`; returns
  // how many.
  virtual int64_t DeleteSessionsUpdatedBefore(int64_t cutoff_ms) = 0;

  virtual int64_t CountSessions() = 0;

  // Cheap liveness probe for /health: false with a reason when unusable.
  virtual bool CheckHealth(std::string* reason) = 0;
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SESSION_STORE_H_
