#include "store/sqlite_session_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "common/error.h"
#include "db/sqlite_database.h"
#include "store/sqlite_session_statements.h"

namespace chatbot::store {
namespace {

// The schema by version (db/sqlite_database.h migrates a database up from
// whichever it has). Times are Unix milliseconds. sessions keeps a rowid (its
// rows carry the dialogue state, too large for a WITHOUT ROWID B-tree to stay
// dense); turns are clustered by (session_id, number), so a session's turns
// are read in order from adjacent pages and the cascade on delete is a range
// delete.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE sessions(
  id TEXT PRIMARY KEY NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  turn_count INTEGER NOT NULL DEFAULT 0,
  dialogue_state TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_created ON sessions(created_at_ms, id);
CREATE INDEX sessions_by_updated ON sessions(updated_at_ms);
CREATE TABLE turns(
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  user_text TEXT NOT NULL,
  intent TEXT NOT NULL,
  confidence REAL NOT NULL,
  out_of_scope INTEGER NOT NULL,
  reply TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  replied_at_ms INTEGER NOT NULL,
  PRIMARY KEY(session_id, number)
) WITHOUT ROWID;
)sql";

// Version 2: who created each session (docs/security.md).
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_owner ON sessions(owner, created_at_ms, id);
)sql";

// Version 3: operators' labels of turns (session_store.h, TurnLabel). No
// foreign key to turns: labels are training data and outlive the retention
// of their session; DeleteSession removes them explicitly.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE turn_labels(
  session_id TEXT NOT NULL,
  turn INTEGER NOT NULL,
  text TEXT NOT NULL,
  intent TEXT NOT NULL,
  predicted_intent TEXT NOT NULL,
  labelled_by TEXT NOT NULL,
  labelled_at_ms INTEGER NOT NULL,
  PRIMARY KEY(session_id, turn)
) WITHOUT ROWID;
CREATE INDEX turn_labels_by_time ON turn_labels(labelled_at_ms);
)sql";

// Sessions deleted per transaction by DeleteSessionsUpdatedBefore.
constexpr int64_t kDeleteBatch = 500;

// Free pages returned to the file system per step of Vacuum() (8 MiB).
constexpr int64_t kVacuumPagesPerStep = 2048;

}  // namespace

std::unique_ptr<SqliteSessionStore> SqliteSessionStore::Open(const std::filesystem::path& db_path,
                                                             bool full_sync) {
  static_assert(kSchemaVersion == 3, "a new version needs its migration below");
  db::DatabaseSpec spec;
  spec.kind = "session";
  spec.application_id = kApplicationId;
  spec.migrations = {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}};
  // NORMAL: committed turns survive a process crash (they are in the WAL);
  // FULL: they also survive a power loss (the WAL is fsync'ed per commit).
  // wal_autocheckpoint stays at SQLite's 1000 pages: the commit that fills
  // them (one in ~200 turns) copies the WAL back into the database in line,
  // with two fsyncs (milliseconds); other commits never fsync under NORMAL.
  // A background checkpointer on a second connection would hide that, but
  // under constant writes it never catches up with the end of the WAL, so
  // the WAL could never restart and would grow without bound.
  spec.synchronous = full_sync ? "FULL" : "NORMAL";
  // How long a statement waits for another process's write lock (the CLI's
  // clean, a second service by mistake) before failing with "database is
  // locked".
  spec.busy_timeout_ms = 5000;
  spec.connection_mutex = false;   // mu_ serialises every use
  spec.incremental_vacuum = true;  // for Vacuum()
  spec.foreign_keys = true;        // turns go with their session
  std::unique_ptr<SqliteSessionStore> store(new SqliteSessionStore(db_path));
  // Customer conversations: OpenDatabase creates the file readable by the
  // service's user only. On failure the destructor closes what was opened.
  store->db_ = db::OpenDatabase(db_path, spec).release();
  store->statements_ = std::make_unique<Statements>(store->db_, store->path_string_);
  store->last_created_ms_ = QueryInt64(store->db_, store->path_string_, "read newest session",
                                       "SELECT COALESCE(MAX(created_at_ms), 0) FROM sessions");
  return store;
}

SqliteSessionStore::SqliteSessionStore(std::filesystem::path path)
    : path_(std::move(path)),
      path_string_(path_.string()),
      search_(std::make_unique<internal::SearchConnections>(path_string_)) {}

SqliteSessionStore::~SqliteSessionStore() {
  // Closed first, so that the store's own connection is the last one and
  // its close checkpoints the WAL.
  search_.reset();
  statements_.reset();  // a connection with live statements does not close
  // _v2 never fails: were a statement still alive, the close would happen
  // when it is finalized.
  sqlite3_close_v2(db_);
}

void SqliteSessionStore::CreateSession(const std::string& id, int64_t now_ms,
                                       const std::string& owner) {
  std::lock_guard lock(mu_);
  InsertSessionLocked(id, now_ms, owner);
}

void SqliteSessionStore::InsertSessionLocked(const std::string& id, int64_t now_ms,
                                             const std::string& owner) {
  // Creation times are distinct and increasing (a session created in the
  // same millisecond as the previous one is stamped a millisecond later), so
  // that paging by `before` never skips a session.
  const int64_t created = std::max(now_ms, last_created_ms_ + 1);
  Statement& insert = statements_->insert_session;
  ResetOnExit reset(insert);
  insert.BindAll(id, created, owner);
  try {
    insert.Run();
    last_created_ms_ = created;
  } catch (const StoreError&) {
    if ((sqlite3_extended_errcode(db_) & 0xff) == SQLITE_CONSTRAINT) {
      throw StoreError("session " + id + " already exists");
    }
    throw;
  }
}

std::optional<Session> SqliteSessionStore::GetSession(const std::string& id, bool with_turns) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  // With turns: one snapshot, so that turn_count and the turns agree even
  // when another process writes in between.
  std::optional<Transaction> transaction;
  if (with_turns) transaction.emplace(db_, s.begin_read, s.commit, s.rollback);

  std::optional<Session> session;
  {
    ResetOnExit reset(s.select_session);
    s.select_session.BindText(1, id);
    if (!s.select_session.Step()) return std::nullopt;
    session.emplace();
    session->summary.id = id;
    session->summary.created_at_ms = s.select_session.ColumnInt64(0);
    session->summary.updated_at_ms = s.select_session.ColumnInt64(1);
    session->summary.turn_count = s.select_session.ColumnInt64(2);
    session->dialogue_state = s.select_session.ColumnText(3);
    session->summary.owner = s.select_session.ColumnText(4);
  }
  if (with_turns) {
    LoadTurns(id, &session->turns);
    transaction->Commit();
  }
  return session;
}

namespace internal {

SessionSummary ReadSummary(const Statement& row) {
  SessionSummary summary;
  summary.id = row.ColumnText(0);
  summary.created_at_ms = row.ColumnInt64(1);
  summary.updated_at_ms = row.ColumnInt64(2);
  summary.turn_count = row.ColumnInt64(3);
  summary.owner = row.ColumnText(4);
  return summary;
}

// Reads the columns of kTurnColumns, starting at `first`.
Turn ReadTurn(const Statement& row, int first) {
  Turn turn;
  turn.number = row.ColumnInt64(first);
  turn.user_text = row.ColumnText(first + 1);
  turn.intent = row.ColumnText(first + 2);
  turn.confidence = row.ColumnDouble(first + 3);
  turn.out_of_scope = row.ColumnInt64(first + 4) != 0;
  turn.reply = row.ColumnText(first + 5);
  turn.model = row.ColumnText(first + 6);
  turn.model_version = row.ColumnText(first + 7);
  turn.received_at_ms = row.ColumnInt64(first + 8);
  turn.replied_at_ms = row.ColumnInt64(first + 9);
  return turn;
}

}  // namespace internal

void SqliteSessionStore::LoadTurns(const std::string& session_id, std::vector<Turn>* turns) {
  Statement& select = statements_->select_turns;
  ResetOnExit reset(select);
  select.BindText(1, session_id);
  while (select.Step()) turns->push_back(ReadTurn(select, 0));
}

void SqliteSessionStore::AppendTurn(const std::string& session_id, const Turn& turn,
                                    const std::string& dialogue_state) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  Transaction transaction(db_, s.begin_write, s.commit, s.rollback);

  int64_t turn_count = 0;
  {
    ResetOnExit reset(s.select_turn_count);
    s.select_turn_count.BindText(1, session_id);
    if (!s.select_turn_count.Step()) throw StoreError("no session " + session_id);
    turn_count = s.select_turn_count.ColumnInt64(0);
  }
  // Two requests racing on one session both read turn_count N; the second
  // to commit is refused here rather than silently interleaving.
  if (turn.number != turn_count + 1) {
    throw TurnConflict("session " + session_id + ": expected turn " +
                       std::to_string(turn_count + 1) + ", got " + std::to_string(turn.number));
  }
  WriteTurnLocked(session_id, turn, dialogue_state);
  transaction.Commit();
}

void SqliteSessionStore::CreateSessionWithTurn(const std::string& id, const std::string& owner,
                                               const Turn& turn,
                                               const std::string& dialogue_state) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  Transaction transaction(db_, s.begin_write, s.commit, s.rollback);
  InsertSessionLocked(id, turn.received_at_ms, owner);
  WriteTurnLocked(id, turn, dialogue_state);
  transaction.Commit();
}

void SqliteSessionStore::WriteTurnLocked(const std::string& session_id, const Turn& turn,
                                         const std::string& dialogue_state) {
  Statements& s = *statements_;
  {
    Statement& insert = s.insert_turn;
    ResetOnExit reset(insert);
    insert.BindAll(session_id, turn.number, turn.user_text, turn.intent, turn.confidence,
                   turn.out_of_scope, turn.reply, turn.model, turn.model_version,
                   turn.received_at_ms, turn.replied_at_ms);
    insert.Run();
  }
  {
    Statement& update = s.update_session;
    ResetOnExit reset(update);
    update.BindAll(session_id, turn.number, turn.replied_at_ms, dialogue_state);
    update.Run();
  }
}

bool SqliteSessionStore::DeleteSession(const std::string& id) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  Transaction transaction(db_, s.begin_write, s.commit, s.rollback);
  bool deleted = false;
  {
    ResetOnExit reset(s.delete_session);
    s.delete_session.BindText(1, id);
    s.delete_session.Run();  // the turns go with it (ON DELETE CASCADE)
    deleted = sqlite3_changes(db_) > 0;
  }
  {
    ResetOnExit reset(s.delete_session_labels);
    s.delete_session_labels.BindText(1, id);
    s.delete_session_labels.Run();
  }
  transaction.Commit();
  return deleted;
}

std::vector<SessionSummary> SqliteSessionStore::ListSessions(
    int limit, std::optional<int64_t> before_ms, const std::optional<std::string>& owner) {
  std::vector<SessionSummary> sessions;
  if (limit <= 0) return sessions;  // SQLite reads a negative LIMIT as "no limit"
  std::lock_guard lock(mu_);
  Statement& list = owner ? statements_->list_owner_sessions : statements_->list_sessions;
  ResetOnExit reset(list);
  list.BindInt64(1, before_ms.value_or(INT64_MAX));
  list.BindInt64(2, limit);
  if (owner) list.BindText(3, *owner);
  while (list.Step()) sessions.push_back(ReadSummary(list));
  return sessions;
}

int64_t SqliteSessionStore::DeleteSessionsUpdatedBefore(int64_t cutoff_ms) {
  int64_t deleted = 0;
  while (true) {
    // The lock is released between batches so that chat requests interleave.
    std::lock_guard lock(mu_);
    Statement& remove = statements_->delete_idle;
    ResetOnExit reset(remove);
    remove.BindInt64(1, cutoff_ms);
    remove.BindInt64(2, kDeleteBatch);
    remove.Run();
    const int64_t batch = sqlite3_changes(db_);
    deleted += batch;
    if (batch < kDeleteBatch) return deleted;
  }
}

int64_t SqliteSessionStore::CountSessions() {
  std::lock_guard lock(mu_);
  Statement& count = statements_->count_sessions;
  ResetOnExit reset(count);
  count.Step();
  return count.ColumnInt64(0);
}

bool SqliteSessionStore::CheckHealth(std::string* reason) {
  try {
    std::lock_guard lock(mu_);
    Statement& health = statements_->health;
    ResetOnExit reset(health);
    health.Run();
    return true;
  } catch (const StoreError& e) {
    if (reason != nullptr) *reason = e.what();
    return false;
  }
}

void SqliteSessionStore::Vacuum() {
  // Free pages go back a few thousand at a time, each step its own short
  // write transaction, so that a service writing to the same database waits
  // milliseconds between steps rather than the whole vacuum (which could
  // outlast its busy_timeout).
  int64_t free_pages = INT64_MAX;
  while (true) {
    std::lock_guard lock(mu_);
    // Without auto_vacuum=INCREMENTAL the pragma does nothing.
    if (QueryInt64(db_, path_string_, "vacuum", "PRAGMA auto_vacuum") != 2) break;
    const int64_t left = QueryInt64(db_, path_string_, "vacuum", "PRAGMA freelist_count");
    if (left == 0 || left >= free_pages) break;  // done, or no progress
    free_pages = left;
    Execute(db_, path_string_, "vacuum",
            "PRAGMA incremental_vacuum(" + std::to_string(kVacuumPagesPerStep) + ")");
  }
  std::lock_guard lock(mu_);
  // The truncation happened in the WAL; copy it back into the database and
  // empty the WAL so that both files shrink. When a reader holds an older
  // snapshot the checkpoint is partial, which is not an error.
  Execute(db_, path_string_, "checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)");
}

void SqliteSessionStore::ForEachSession(const std::function<void(const Session&)>& visit) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  Transaction transaction(db_, s.begin_read, s.commit, s.rollback);
  {
    ResetOnExit reset(s.all_sessions);
    while (s.all_sessions.Step()) {
      Session session;
      session.summary.id = s.all_sessions.ColumnText(0);
      session.summary.created_at_ms = s.all_sessions.ColumnInt64(1);
      session.summary.updated_at_ms = s.all_sessions.ColumnInt64(2);
      session.summary.turn_count = s.all_sessions.ColumnInt64(3);
      session.dialogue_state = s.all_sessions.ColumnText(4);
      session.summary.owner = s.all_sessions.ColumnText(5);
      LoadTurns(session.summary.id, &session.turns);
      visit(session);
    }
  }
  transaction.Commit();
}

}  // namespace chatbot::store
