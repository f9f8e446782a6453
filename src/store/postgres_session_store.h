// SessionStore in a PostgreSQL database (docs/configuration.md, "The
// PostgreSQL backend"), shared by every instance of the service.
//
// Each operation borrows a connection from a pool (db/pg_pool.h) and is one
// statement where it can be, so that a chat turn costs one round trip:
// AppendTurn updates the session only if its turn count is still the one
// the turn follows (optimistic versioning; the UPDATE's row lock makes two
// racing appends wait for each other) and inserts the turn in the same
// statement, which commits before AppendTurn returns. The loser of a race
// gets TurnConflict and the chat use case decides the turn again from the
// state it re-reads.
//
// The schema (component "sessions" of db/pg_migrations.h) is brought up to
// date when the store opens.
#ifndef CHATBOT_STORE_POSTGRES_SESSION_STORE_H_
#define CHATBOT_STORE_POSTGRES_SESSION_STORE_H_

#include <memory>
#include <mutex>

#include "db/pg_migrations.h"
#include "store/session_store.h"

namespace chatbot::store {

class PostgresSessionStore final : public SessionStore {
 public:
  static constexpr int64_t kSchemaVersion = 1;

  // Connects and migrates. Throws StoreUnavailable naming the server when
  // it cannot be reached, StoreError when the schema cannot be brought up
  // to date.
  explicit PostgresSessionStore(const db::PgOptions& options);

  void CreateSession(const std::string& id, int64_t now_ms, const std::string& owner = {}) override;
  std::optional<Session> GetSession(const std::string& id, bool with_turns) override;
  void AppendTurn(const std::string& session_id, const Turn& turn,
                  const std::string& dialogue_state) override;
  void CreateSessionWithTurn(const std::string& id, const std::string& owner, const Turn& turn,
                             const std::string& dialogue_state) override;
  bool DeleteSession(const std::string& id) override;
  std::vector<SessionSummary> ListSessions(
      int limit, std::optional<int64_t> before_ms,
      const std::optional<std::string>& owner = std::nullopt) override;
  std::vector<SessionSummary> FindSessions(const SessionQuery& query) override;
  std::vector<ReviewItem> FindTurnsForReview(const ReviewQuery& query) override;
  std::optional<TurnLabel> LabelTurn(const std::string& session_id, int64_t turn,
                                     const std::string& intent, const std::string& labelled_by,
                                     int64_t now_ms) override;
  bool DeleteLabel(const std::string& session_id, int64_t turn) override;
  std::vector<TurnLabel> ListLabels(int64_t since_ms) override;
  // A REPEATABLE READ transaction; sessions read a page at a time with their
  // turns, so that memory holds one page, not the whole database.
  void ForEachSession(const std::function<void(const Session&)>& visit) override;
  // In batches, each its own statement, so that chat turns interleave.
  int64_t DeleteSessionsUpdatedBefore(int64_t cutoff_ms) override;
  // Nothing to do: the server's autovacuum reuses and returns the space.
  void Vacuum() override {}
  int64_t CountSessions() override;
  bool CheckHealth(std::string* reason) override;

  const std::string& server() const { return pool_.server(); }

 private:
  // A creation time after the last one this store gave (distinct, increasing).
  int64_t NextCreationTime(int64_t now_ms);

  db::PgComponentPool pool_;
  std::mutex created_mu_;
  int64_t last_created_ms_ = 0;  // guarded by created_mu_
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_POSTGRES_SESSION_STORE_H_
