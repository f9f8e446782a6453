// Conversation sessions, their turns and the review labels, behind an
// interface so that the chat use case and the HTTP handlers do not depend on
// where sessions live; sqlite_session_store.h keeps them in SQLite on one
// machine, postgres_session_store.h in a PostgreSQL server shared by every
// instance; open_session_store.h picks one from the configuration.
//
// Durability contract: when AppendTurn returns, the turn and the session's
// new dialogue state are committed; a crash of the process afterwards
// (kill -9 included) never loses them.
#ifndef CHATBOT_STORE_SESSION_STORE_H_
#define CHATBOT_STORE_SESSION_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace chatbot::store {

// A search stopped because it ran past SessionQuery::time_budget_ms.
class SearchTimeout : public StoreError {
 public:
  using StoreError::StoreError;
};

// AppendTurn refused a turn because another one of the same session was
// stored since its caller read the session (two instances, or two
// requests, answering the same conversation at once). Nothing was written;
// the caller re-reads the session and decides its turn again.
class TurnConflict : public StoreError {
 public:
  using StoreError::StoreError;
};

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

// What FindSessions selects; every field left empty selects everything.
struct SessionQuery {
  int limit = 20;
  std::optional<int64_t> before_ms;  // created strictly before (paging)
  std::optional<std::string> owner;  // only the sessions it created
  // A turn whose user message or reply contains this, ignoring the case of
  // ASCII letters (SQL LIKE semantics; other letters must match exactly).
  std::string text = {};
  std::string intent = {};  // a turn answered with this intent
  // Active in [active_since_ms, active_until_ms]: last updated at or after
  // the first, created at or before the second.
  std::optional<int64_t> active_since_ms = {};
  std::optional<int64_t> active_until_ms = {};
  // Stops a search that runs longer (SearchTimeout); 0: no limit.
  int64_t time_budget_ms = 0;
};

// An operator's correction of one turn: the intent it should have had.
// Labels are training data, so they outlive the retention of their session
// (`sessions clean` keeps them); deleting a session explicitly (the API's
// DELETE, a person's request to be forgotten) deletes its labels too.
struct TurnLabel {
  std::string session_id;
  int64_t turn = 0;
  std::string text;              // the user's message, copied
  std::string intent;            // the right intent ("oos": out of scope)
  std::string predicted_intent;  // what the bot decided
  std::string labelled_by;       // Principal::Owner() of who labelled it
  int64_t labelled_at_ms = 0;
};

// Turns the bot was unsure about, for FindTurnsForReview.
struct ReviewQuery {
  int64_t since_ms = 0;           // received at or after
  double below_confidence = 0.5;  // confidence below this, or out of scope
  enum class Status { kAll, kUnlabelled, kLabelled } status = Status::kAll;
  int limit = 100;
  // Paging: only turns strictly older than this one in the listing's order
  // (received_at_ms, session_id, turn), newest first.
  struct Cursor {
    int64_t received_at_ms = 0;
    std::string session_id;
    int64_t turn = 0;
  };
  std::optional<Cursor> before = {};
};

struct ReviewItem {
  std::string session_id;
  Turn turn;
  std::optional<TurnLabel> label;
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
  // committed. Throws TurnConflict when the number is not the next one (a
  // turn was stored since the caller read the session), StoreError otherwise
  // (unknown session, I/O; StoreUnavailable when the server is unreachable).
  virtual void AppendTurn(const std::string& session_id, const Turn& turn,
                          const std::string& dialogue_state) = 0;

  // Creates a session as CreateSession does, with `turn` (number 1) as its
  // first turn and `dialogue_state`, in one transaction: a conversation's
  // first turn costs one commit, as each later turn does. Throws StoreError
  // if the id exists.
  virtual void CreateSessionWithTurn(const std::string& id, const std::string& owner,
                                     const Turn& turn, const std::string& dialogue_state) = 0;

  // False when there was no such session. Its turns and labels go with it.
  virtual bool DeleteSession(const std::string& id) = 0;

  // Most recently created first; `before_ms` pages: only sessions created
  // strictly before it. With `owner`, only the sessions it created.
  virtual std::vector<SessionSummary> ListSessions(
      int limit, std::optional<int64_t> before_ms,
      const std::optional<std::string>& owner = std::nullopt) = 0;

  // Sessions matching `query`, most recently created first. Searching text
  // reads the turns of every candidate session: meant for an operator's
  // console, not for a hot path. It does not hold up AppendTurn (it reads on
  // connections of its own) and stops at query.time_budget_ms.
  virtual std::vector<SessionSummary> FindSessions(const SessionQuery& query) = 0;

  // Low-confidence and out-of-scope turns, newest first, with their labels.
  virtual std::vector<ReviewItem> FindTurnsForReview(const ReviewQuery& query) = 0;

  // Records (or replaces) the label of a turn, copying its text; returns the
  // stored label, or nullopt when there is no such turn.
  virtual std::optional<TurnLabel> LabelTurn(const std::string& session_id, int64_t turn,
                                             const std::string& intent,
                                             const std::string& labelled_by, int64_t now_ms) = 0;

  // False when the turn had no label.
  virtual bool DeleteLabel(const std::string& session_id, int64_t turn) = 0;

  // Labels made at or after `since_ms`, oldest first.
  virtual std::vector<TurnLabel> ListLabels(int64_t since_ms) = 0;

  // Calls `visit` with every session and its turns, oldest first, from one
  // consistent snapshot (one read transaction). Holds a connection for the
  // whole walk: for exports from the command line, not for the service.
  // `visit` must not call the store. An exception from `visit` ends the walk
  // and leaves the store usable.
  virtual void ForEachSession(const std::function<void(const Session&)>& visit) = 0;

  // Deletes sessions whose last activity is older than `cutoff_ms`; returns
  // how many. Their labels stay (see TurnLabel).
  virtual int64_t DeleteSessionsUpdatedBefore(int64_t cutoff_ms) = 0;

  // Gives the space that deleted sessions took back where the backend needs
  // to be asked (serve calls it after retention).
  virtual void Vacuum() = 0;

  virtual int64_t CountSessions() = 0;

  // Cheap liveness probe for /health: false with a reason when unusable.
  virtual bool CheckHealth(std::string* reason) = 0;
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SESSION_STORE_H_
