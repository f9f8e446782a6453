// SessionStore on a local SQLite database (docs/sessions.md).
//
// One connection, guarded by a mutex: every operation is a handful of
// B-tree lookups on prepared statements (microseconds), so serialising them
// costs less than a connection pool would, and it keeps the write path free
// of SQLITE_BUSY between our own threads. Searches, which may read every
// turn, are the exception: they run on read connections of their own
// (search_connections.h) so that chat writes never wait for them. Other processes (the `chatbot
// sessions` commands) open their own connection; WAL mode lets them read
// while the service writes, and busy_timeout makes writers wait their turn.
//
// Durability: journal_mode=WAL. With synchronous=NORMAL a commit is appended
// to the WAL file before AppendTurn returns but not fsync'ed, which survives
// a crash of the process (kill -9 included) because the data is in the
// operating system's page cache; a power loss or kernel crash may lose the
// last commits (never corrupt the database). synchronous=FULL fsyncs the WAL
// on every commit, which also survives a power loss, at the cost of one
// fsync per turn.
#ifndef CHATBOT_STORE_SQLITE_SESSION_STORE_H_
#define CHATBOT_STORE_SQLITE_SESSION_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/search_connections.h"
#include "store/session_store.h"

struct sqlite3;

namespace chatbot::store {

class SqliteSessionStore final : public SessionStore {
 public:
  // The schema this program writes (PRAGMA user_version).
  // 2 added sessions.owner, 3 the turn_labels table; an older database is
  // upgraded when opened.
  static constexpr int64_t kSchemaVersion = 3;
  // PRAGMA application_id of our databases ("CHBT"), so that another
  // program's SQLite file is refused rather than written into.
  static constexpr int64_t kApplicationId = 0x43484254;

  // Opens or creates the database, creating its parent directory. Throws
  // StoreError naming the file when it cannot be opened, is not an SQLite
  // database, is another program's database, or has a newer schema.
  // `full_sync`: synchronous=FULL instead of NORMAL (see above).
  static std::unique_ptr<SqliteSessionStore> Open(const std::filesystem::path& db_path,
                                                  bool full_sync);

  // Finalizes the statements and closes the connection; closing the last
  // connection checkpoints the WAL into the database and removes it.
  ~SqliteSessionStore() override;

  SqliteSessionStore(const SqliteSessionStore&) = delete;
  SqliteSessionStore& operator=(const SqliteSessionStore&) = delete;

  void CreateSession(const std::string& id, int64_t now_ms, const std::string& owner = {}) override;
  std::optional<Session> GetSession(const std::string& id, bool with_turns) override;
  void AppendTurn(const std::string& session_id, const Turn& turn,
                  const std::string& dialogue_state) override;
  void CreateSessionWithTurn(const std::string& id, const std::string& owner, const Turn& turn,
                             const std::string& dialogue_state) override;
  bool DeleteSession(const std::string& id) override;
  // `limit` <= 0 returns nothing. Sessions created in the same millisecond
  // as the last one of a page are on neither side of the `before_ms` cursor;
  // session ids are random, so in practice this does not arise.
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
  // Deletes in batches of a few hundred sessions, each its own transaction,
  // so that a large clean never holds the connection (and the service's
  // chat requests) for long. Does not give the space back to the file
  // system: freed pages are reused by later writes; see Vacuum().
  int64_t DeleteSessionsUpdatedBefore(int64_t cutoff_ms) override;
  int64_t CountSessions() override;
  bool CheckHealth(std::string* reason) override;

  // Returns free pages to the file system (PRAGMA incremental_vacuum, in
  // steps of a few thousand pages; the database is created with
  // auto_vacuum=INCREMENTAL), then checkpoints and truncates the WAL so that
  // the file sizes actually shrink. Unlike a full VACUUM it neither copies
  // the database nor keeps other writers waiting for more than a step.
  void Vacuum() override;

  // One read transaction; holds the store's mutex (not recursive) meanwhile.
  void ForEachSession(const std::function<void(const Session&)>& visit) override;

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Statements;  // the prepared statements (sqlite_session_statements.h)

  explicit SqliteSessionStore(std::filesystem::path path);
  void LoadTurns(const std::string& session_id, std::vector<Turn>* turns);
  // The statements of CreateSession and AppendTurn, with mu_ held (and the
  // latter inside a write transaction).
  void InsertSessionLocked(const std::string& id, int64_t now_ms, const std::string& owner);
  void WriteTurnLocked(const std::string& session_id, const Turn& turn,
                       const std::string& dialogue_state);

  const std::filesystem::path path_;
  const std::string path_string_;  // for error messages; outlives statements_

  std::mutex mu_;
  sqlite3* db_ = nullptr;                   // guarded by mu_
  std::unique_ptr<Statements> statements_;  // guarded by mu_
  int64_t last_created_ms_ = 0;             // guarded by mu_
  // FindSessions reads here, without mu_ (search_connections.h).
  std::unique_ptr<internal::SearchConnections> search_;
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SQLITE_SESSION_STORE_H_
