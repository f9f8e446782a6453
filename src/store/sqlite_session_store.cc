#include "store/sqlite_session_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>
#include <utility>

#include "common/error.h"
#include "common/private_files.h"
#include "store/sqlite_statement.h"

namespace chatbot::store {
namespace {

using internal::Execute;
using internal::ResetOnExit;
using internal::Statement;
using internal::ThrowSqliteError;

// Version 3 (version 1 lacked sessions.owner and its index, version 2 the
// turn_labels table; Initialize upgrades such a database in place). Times are Unix milliseconds.
// sessions keeps a rowid (its rows carry the dialogue state, too large for a WITHOUT ROWID B-tree
// to stay dense); turns are clustered by (session_id, number), so a session's turns are read in
// order from adjacent pages and the cascade on delete is a range delete.
constexpr const char* kSchema = R"sql(
CREATE TABLE sessions(
  id TEXT PRIMARY KEY NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  turn_count INTEGER NOT NULL DEFAULT 0,
  dialogue_state TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_created ON sessions(created_at_ms, id);
CREATE INDEX sessions_by_owner ON sessions(owner, created_at_ms, id);
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

// From version 1 to 2: who created each session (docs/security.md).
constexpr const char* kUpgradeTo2 = R"sql(
ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_owner ON sessions(owner, created_at_ms, id);
PRAGMA user_version = 2;
)sql";

// Operators' labels of turns (session_store.h, TurnLabel), added in version
// 3. No foreign key to turns: labels are training data and outlive the
// retention of their session; DeleteSession removes them explicitly.
constexpr const char* kLabelsSchema = R"sql(
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

// The columns of a turn, in the order ReadTurn expects, for queries that
// alias the turns table as t.
constexpr const char* kTurnColumns =
    "t.number, t.user_text, t.intent, t.confidence, t.out_of_scope, t.reply, t.model, "
    "t.model_version, t.received_at_ms, t.replied_at_ms";

// Sessions deleted per transaction by DeleteSessionsUpdatedBefore.
constexpr int64_t kDeleteBatch = 500;

// Free pages returned to the file system per step of Vacuum() (8 MiB).
constexpr int64_t kVacuumPagesPerStep = 2048;

// How long a statement waits for another process's write lock (the CLI's
// clean, a second service by mistake) before failing with "database is
// locked".
constexpr int kBusyTimeoutMs = 5000;

int64_t QueryInt64(sqlite3* db, const std::string& db_path, std::string_view operation,
                   std::string_view sql) {
  Statement statement(db, db_path, operation, sql);
  if (!statement.Step()) throw StoreError(db_path + ": " + std::string(operation) + ": no result");
  return statement.ColumnInt64(0);
}

// Asks for journal_mode=WAL and returns the mode in force, which stays
// "delete" where WAL is impossible (e.g. a file system without shared
// memory). Switching needs an exclusive lock that SQLite does not wait for
// (the busy handler is skipped to avoid deadlocks), so when several
// processes open a new database at once, the losers retry here.
std::string EnableWal(sqlite3* db, const std::string& db_path) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  Statement set_wal(db, db_path, "set journal_mode", "PRAGMA journal_mode = WAL");
  while (true) {
    try {
      if (!set_wal.Step()) throw StoreError(db_path + ": set journal_mode: no result");
      std::string mode = set_wal.ColumnText(0);
      set_wal.Reset();
      return mode;
    } catch (const StoreError&) {
      const int code = sqlite3_extended_errcode(db);
      set_wal.Reset();
      if ((code & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

// Created once per connection and reused: preparing a statement costs more
// than running one of these.
struct SqliteSessionStore::Statements {
  Statements(sqlite3* db, const std::string& p)
      : begin_read(db, p, "begin read transaction", "BEGIN"),
        // IMMEDIATE takes the write lock up front: a deferred transaction
        // that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT when
        // another process committed in between, which busy_timeout cannot
        // resolve.
        begin_write(db, p, "begin write transaction", "BEGIN IMMEDIATE"),
        commit(db, p, "commit", "COMMIT"),
        rollback(db, p, "rollback", "ROLLBACK"),
        insert_session(db, p, "create session",
                       "INSERT INTO sessions(id, created_at_ms, updated_at_ms, turn_count, "
                       "dialogue_state, owner) VALUES(?1, ?2, ?2, 0, '', ?3)"),
        select_session(db, p, "get session",
                       "SELECT created_at_ms, updated_at_ms, turn_count, dialogue_state, owner "
                       "FROM sessions WHERE id = ?1"),
        select_turns(db, p, "get turns",
                     std::string("SELECT ") + kTurnColumns +
                         " FROM turns t WHERE t.session_id = ?1 ORDER BY t.number"),
        select_turn_count(db, p, "append turn: read session",
                          "SELECT turn_count FROM sessions WHERE id = ?1"),
        insert_turn(db, p, "append turn: insert turn",
                    "INSERT INTO turns(session_id, number, user_text, intent, confidence, "
                    "out_of_scope, reply, model, model_version, received_at_ms, replied_at_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        update_session(db, p, "append turn: update session",
                       "UPDATE sessions SET turn_count = ?2, updated_at_ms = ?3, "
                       "dialogue_state = ?4 WHERE id = ?1"),
        delete_session(db, p, "delete session", "DELETE FROM sessions WHERE id = ?1"),
        list_sessions(db, p, "list sessions",
                      "SELECT id, created_at_ms, updated_at_ms, turn_count, owner FROM sessions "
                      "WHERE created_at_ms < ?1 ORDER BY created_at_ms DESC, id DESC LIMIT ?2"),
        list_owner_sessions(db, p, "list sessions",
                            "SELECT id, created_at_ms, updated_at_ms, turn_count, owner "
                            "FROM sessions WHERE owner = ?3 AND created_at_ms < ?1 "
                            "ORDER BY created_at_ms DESC, id DESC LIMIT ?2"),
        delete_idle(db, p, "delete idle sessions",
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
                    "WHERE updated_at_ms < ?1 LIMIT ?2)"),
        count_sessions(db, p, "count sessions", "SELECT count(*) FROM sessions"),
        health(db, p, "health check", "SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT 1)"),
        all_sessions(db, p, "export sessions",
                     "SELECT id, created_at_ms, updated_at_ms, turn_count, dialogue_state, "
                     "owner FROM sessions ORDER BY created_at_ms, id"),
        delete_session_labels(db, p, "delete session: labels",
                              "DELETE FROM turn_labels WHERE session_id = ?1"),
        select_turn_to_label(db, p, "label turn: read turn",
                             "SELECT user_text, intent FROM turns "
                             "WHERE session_id = ?1 AND number = ?2"),
        upsert_label(db, p, "label turn",
                     "INSERT OR REPLACE INTO turn_labels(session_id, turn, text, intent, "
                     "predicted_intent, labelled_by, labelled_at_ms) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        delete_label(db, p, "delete label",
                     "DELETE FROM turn_labels WHERE session_id = ?1 AND turn = ?2"),
        list_labels(db, p, "list labels",
                    "SELECT session_id, turn, text, intent, predicted_intent, labelled_by, "
                    "labelled_at_ms FROM turn_labels WHERE labelled_at_ms >= ?1 "
                    "ORDER BY labelled_at_ms, session_id, turn"),
        // Through sessions_by_updated: a session with a turn received since
        // ?1 was updated since then, so only recent sessions' turns are read
        // (by their primary key range) however old the database is.
        review(db, p, "find turns for review",
               std::string("SELECT t.session_id, ") + kTurnColumns +
                   ", l.intent, l.predicted_intent, l.labelled_by, l.labelled_at_ms "
                   "FROM sessions s JOIN turns t ON t.session_id = s.id "
                   "LEFT JOIN turn_labels l ON l.session_id = t.session_id AND l.turn = t.number "
                   "WHERE s.updated_at_ms >= ?1 AND t.received_at_ms >= ?1 "
                   "AND (t.out_of_scope != 0 OR t.confidence < ?2) "
                   "AND (t.received_at_ms, t.session_id, t.number) < (?3, ?4, ?5) "
                   "AND (?6 = 0 OR (?6 = 1) = (l.intent IS NULL)) "
                   "ORDER BY t.received_at_ms DESC, t.session_id DESC, t.number DESC "
                   "LIMIT ?7") {}

  Statement begin_read;
  Statement begin_write;
  Statement commit;
  Statement rollback;
  Statement insert_session;
  Statement select_session;
  Statement select_turns;
  Statement select_turn_count;
  Statement insert_turn;
  Statement update_session;
  Statement delete_session;
  Statement list_sessions;
  Statement list_owner_sessions;
  Statement delete_idle;
  Statement count_sessions;
  Statement health;
  Statement all_sessions;
  Statement delete_session_labels;
  Statement select_turn_to_label;
  Statement upsert_label;
  Statement delete_label;
  Statement list_labels;
  Statement review;
};

namespace {

// Rolls back unless committed, so that every way out of a transaction
// (a StoreError, a wrong turn number, an exception from a visitor) leaves
// the connection outside any transaction.
class Transaction {
 public:
  Transaction(sqlite3* db, Statement& begin, Statement& commit, Statement& rollback)
      : db_(db), commit_(commit), rollback_(rollback) {
    ResetOnExit reset(begin);
    begin.Run();
  }
  ~Transaction() {
    // Some errors (I/O, disk full, out of memory) roll back by themselves;
    // a second ROLLBACK would only fail.
    if (sqlite3_get_autocommit(db_) != 0) return;
    ResetOnExit reset(rollback_);
    try {
      rollback_.Run();
    } catch (const StoreError&) {
      // Nothing better to do: the original error is already on its way.
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // When COMMIT fails (SQLITE_BUSY), the transaction is still open and the
  // destructor rolls it back.
  void Commit() {
    ResetOnExit reset(commit_);
    commit_.Run();
  }

 private:
  sqlite3* db_;
  Statement& commit_;
  Statement& rollback_;
};

}  // namespace

std::unique_ptr<SqliteSessionStore> SqliteSessionStore::Open(const std::filesystem::path& db_path,
                                                             bool full_sync) {
  // Customer conversations: readable by the service's user only, whatever
  // the umask (SQLite gives the -wal and -shm files the database's mode).
  try {
    if (db_path.has_parent_path()) CreatePrivateDirectories(db_path.parent_path());
    CreatePrivateFile(db_path);
  } catch (const IoError& e) {
    throw StoreError(db_path.string() + ": " + e.what());
  }
  std::unique_ptr<SqliteSessionStore> store(new SqliteSessionStore(db_path));
  store->Initialize(full_sync);  // on failure, the destructor closes what was opened
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

void SqliteSessionStore::Initialize(bool full_sync) {
  const std::string& p = path_string_;
  if (sqlite3_threadsafe() == 0) {
    throw StoreError(p + ": open: the SQLite library was built without thread support");
  }
  // NOMUTEX: SQLite's own per-connection mutex would duplicate ours.
  const int rc = sqlite3_open_v2(
      p.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, p, "open");
  sqlite3_extended_result_codes(db_, 1);
  // Same as PRAGMA busy_timeout, set before the first read so that even
  // opening waits for another process's write lock.
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // The first read of the header: a file that is not an SQLite database
  // fails here with "file is not a database".
  int64_t version = QueryInt64(db_, p, "read schema version", "PRAGMA user_version");
  if (version == 0 &&
      QueryInt64(db_, p, "read schema", "SELECT count(*) FROM sqlite_schema") != 0) {
    // Tables without a schema version: another program's database, or ours
    // being created by another process right now. Its creator commits the
    // tables and the version together, so reading the version again tells.
    version = QueryInt64(db_, p, "read schema version", "PRAGMA user_version");
    if (version == 0) {
      throw StoreError(p +
                       ": not a chatbot session database (it has tables but no schema version)");
    }
  }
  const int64_t application_id = QueryInt64(db_, p, "read application id", "PRAGMA application_id");
  if (application_id != 0 && application_id != kApplicationId) {
    throw StoreError(p + ": not a chatbot session database (application_id " +
                     std::to_string(application_id) + ")");
  }
  if (version > kSchemaVersion) {
    throw StoreError(p + ": session database schema version " + std::to_string(version) +
                     " is newer than this program's (" + std::to_string(kSchemaVersion) +
                     "); run a newer chatbot or restore an older database");
  }
  if (version == 0) {
    // Must precede the first table: it cannot be switched on afterwards
    // without a full VACUUM. Lets Vacuum() give freed pages back cheaply.
    Execute(db_, p, "set auto_vacuum", "PRAGMA auto_vacuum = INCREMENTAL");
  }

  const std::string mode = EnableWal(db_, p);
  if (mode != "wal") {
    throw StoreError(p + ": set journal_mode: WAL not available (journal mode is " + mode + ")");
  }
  // NORMAL: committed turns survive a process crash (they are in the WAL);
  // FULL: they also survive a power loss (the WAL is fsync'ed per commit).
  Execute(db_, p, "set synchronous",
          full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // wal_autocheckpoint stays at SQLite's 1000 pages: the commit that fills
  // them (one in ~200 turns) copies the WAL back into the database in line,
  // with two fsyncs (milliseconds); other commits never fsync under NORMAL.
  // A background checkpointer on a second connection would hide that, but
  // under constant writes it never catches up with the end of the WAL, so
  // the WAL could never restart and would grow without bound.

  // Per connection and off by default: without it ON DELETE CASCADE is
  // ignored and turns would outlive their session.
  Execute(db_, p, "enable foreign keys", "PRAGMA foreign_keys = ON");

  if (version != 0 && version < kSchemaVersion) {
    // Upgrade under the write lock, deciding again inside it: another
    // process may be upgrading at the same time.
    Execute(db_, p, "upgrade schema", "BEGIN IMMEDIATE");
    try {
      const int64_t current = QueryInt64(db_, p, "read schema version", "PRAGMA user_version");
      if (current == 1) Execute(db_, p, "upgrade schema to version 2", kUpgradeTo2);
      if (current != 0 && current < 3) {
        Execute(db_, p, "upgrade schema to version 3", kLabelsSchema);
        Execute(db_, p, "upgrade schema to version 3", "PRAGMA user_version = 3");
      }
      Execute(db_, p, "upgrade schema", "COMMIT");
    } catch (const StoreError&) {
      if (sqlite3_get_autocommit(db_) == 0)
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  if (version == 0) {
    // Another process may be creating the schema at the same time: decide
    // again under the write lock.
    Execute(db_, p, "create schema", "BEGIN IMMEDIATE");
    try {
      if (QueryInt64(db_, p, "read schema version", "PRAGMA user_version") == 0) {
        Execute(db_, p, "create schema", kSchema);
        Execute(db_, p, "create schema", kLabelsSchema);
        Execute(db_, p, "create schema",
                "PRAGMA application_id = " + std::to_string(kApplicationId));
        Execute(db_, p, "create schema", "PRAGMA user_version = " + std::to_string(kSchemaVersion));
      }
      Execute(db_, p, "create schema", "COMMIT");
    } catch (const StoreError&) {
      if (sqlite3_get_autocommit(db_) == 0)
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  statements_ = std::make_unique<Statements>(db_, p);

  sqlite3_stmt* newest = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(created_at_ms), 0) FROM sessions", -1, &newest,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(newest) == SQLITE_ROW) {
    last_created_ms_ = sqlite3_column_int64(newest, 0);
  }
  sqlite3_finalize(newest);
}

void SqliteSessionStore::CreateSession(const std::string& id, int64_t now_ms,
                                       const std::string& owner) {
  std::lock_guard lock(mu_);
  // Creation times are distinct and increasing (a session created in the
  // same millisecond as the previous one is stamped a millisecond later), so
  // that paging by `before` never skips a session.
  const int64_t created = std::max(now_ms, last_created_ms_ + 1);
  Statement& insert = statements_->insert_session;
  ResetOnExit reset(insert);
  insert.BindText(1, id);
  insert.BindInt64(2, created);
  insert.BindText(3, owner);
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

namespace {

// Reads "id, created_at_ms, updated_at_ms, turn_count, owner".
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

}  // namespace

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
  {
    Statement& insert = s.insert_turn;
    ResetOnExit reset(insert);
    insert.BindText(1, session_id);
    insert.BindInt64(2, turn.number);
    insert.BindText(3, turn.user_text);
    insert.BindText(4, turn.intent);
    insert.BindDouble(5, turn.confidence);
    insert.BindInt64(6, turn.out_of_scope ? 1 : 0);
    insert.BindText(7, turn.reply);
    insert.BindText(8, turn.model);
    insert.BindText(9, turn.model_version);
    insert.BindInt64(10, turn.received_at_ms);
    insert.BindInt64(11, turn.replied_at_ms);
    insert.Run();
  }
  {
    Statement& update = s.update_session;
    ResetOnExit reset(update);
    update.BindText(1, session_id);
    update.BindInt64(2, turn.number);
    update.BindInt64(3, turn.replied_at_ms);
    update.BindText(4, dialogue_state);
    update.Run();
  }
  transaction.Commit();
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

std::vector<SessionSummary> SqliteSessionStore::FindSessions(const SessionQuery& query) {
  std::vector<SessionSummary> sessions;
  if (query.limit <= 0) return sessions;
  // Built per query from the filters given (an operator's search, not a hot
  // path); every value is bound, never spliced into the SQL.
  // With `active_since_ms`, the unary + keeps SQLite from walking
  // sessions_by_created for the ORDER BY: it reads only the sessions active
  // since then (sessions_by_updated) and sorts those, which on a store of
  // months is what makes "the last day" cheap (bench/session_search_benchmark).
  const char* created = query.active_since_ms ? "+created_at_ms" : "created_at_ms";
  std::string sql = std::string("SELECT id, created_at_ms, updated_at_ms, turn_count, owner ") +
                    "FROM sessions s WHERE " + created + " < ?1";
  if (query.owner) sql += " AND owner = ?2";
  if (query.active_since_ms) sql += " AND updated_at_ms >= ?3";
  if (query.active_until_ms) sql += " AND created_at_ms <= ?4";
  if (!query.text.empty() || !query.intent.empty()) {
    sql += " AND EXISTS (SELECT 1 FROM turns t WHERE t.session_id = s.id";
    if (!query.text.empty()) {
      sql += " AND (chatbot_contains(t.user_text, ?5) OR chatbot_contains(t.reply, ?5))";
    }
    if (!query.intent.empty()) sql += " AND t.intent = ?6";
    sql += ")";
  }
  sql += std::string(" ORDER BY ") + created + " DESC, id DESC LIMIT ?7";

  search_->Run(query.time_budget_ms, [&](sqlite3* db) {
    Statement find(db, path_string_, "find sessions", sql);
    find.BindInt64(1, query.before_ms.value_or(INT64_MAX));
    if (query.owner) find.BindText(2, *query.owner);
    if (query.active_since_ms) find.BindInt64(3, *query.active_since_ms);
    if (query.active_until_ms) find.BindInt64(4, *query.active_until_ms);
    if (!query.text.empty()) find.BindText(5, query.text);
    if (!query.intent.empty()) find.BindText(6, query.intent);
    find.BindInt64(7, query.limit);
    ResetOnExit reset(find);
    while (find.Step()) sessions.push_back(ReadSummary(find));
  });
  return sessions;
}

std::vector<ReviewItem> SqliteSessionStore::FindTurnsForReview(const ReviewQuery& query) {
  std::vector<ReviewItem> items;
  if (query.limit <= 0) return items;
  std::lock_guard lock(mu_);
  Statement& review = statements_->review;
  ResetOnExit reset(review);
  review.BindInt64(1, query.since_ms);
  review.BindDouble(2, query.below_confidence);
  if (query.before) {
    review.BindInt64(3, query.before->received_at_ms);
    review.BindText(4, query.before->session_id);
    review.BindInt64(5, query.before->turn);
  } else {
    review.BindInt64(3, INT64_MAX);
    review.BindText(4, "");
    review.BindInt64(5, 0);
  }
  review.BindInt64(6, static_cast<int64_t>(query.status));
  review.BindInt64(7, query.limit);
  while (review.Step()) {
    ReviewItem& item = items.emplace_back();
    item.session_id = review.ColumnText(0);
    item.turn = ReadTurn(review, 1);
    std::string label_intent = review.ColumnText(11);
    if (label_intent.empty()) continue;  // NULL: not labelled
    TurnLabel& label = item.label.emplace();
    label.session_id = item.session_id;
    label.turn = item.turn.number;
    label.text = item.turn.user_text;
    label.intent = std::move(label_intent);
    label.predicted_intent = review.ColumnText(12);
    label.labelled_by = review.ColumnText(13);
    label.labelled_at_ms = review.ColumnInt64(14);
  }
  return items;
}

std::optional<TurnLabel> SqliteSessionStore::LabelTurn(const std::string& session_id, int64_t turn,
                                                       const std::string& intent,
                                                       const std::string& labelled_by,
                                                       int64_t now_ms) {
  std::lock_guard lock(mu_);
  Statements& s = *statements_;
  Transaction transaction(db_, s.begin_write, s.commit, s.rollback);
  TurnLabel label;
  label.session_id = session_id;
  label.turn = turn;
  label.intent = intent;
  label.labelled_by = labelled_by;
  label.labelled_at_ms = now_ms;
  {
    ResetOnExit reset(s.select_turn_to_label);
    s.select_turn_to_label.BindText(1, session_id);
    s.select_turn_to_label.BindInt64(2, turn);
    if (!s.select_turn_to_label.Step()) return std::nullopt;
    label.text = s.select_turn_to_label.ColumnText(0);
    label.predicted_intent = s.select_turn_to_label.ColumnText(1);
  }
  {
    Statement& upsert = s.upsert_label;
    ResetOnExit reset(upsert);
    upsert.BindText(1, label.session_id);
    upsert.BindInt64(2, label.turn);
    upsert.BindText(3, label.text);
    upsert.BindText(4, label.intent);
    upsert.BindText(5, label.predicted_intent);
    upsert.BindText(6, label.labelled_by);
    upsert.BindInt64(7, label.labelled_at_ms);
    upsert.Run();
  }
  transaction.Commit();
  return label;
}

bool SqliteSessionStore::DeleteLabel(const std::string& session_id, int64_t turn) {
  std::lock_guard lock(mu_);
  Statement& remove = statements_->delete_label;
  ResetOnExit reset(remove);
  remove.BindText(1, session_id);
  remove.BindInt64(2, turn);
  remove.Run();
  return sqlite3_changes(db_) > 0;
}

std::vector<TurnLabel> SqliteSessionStore::ListLabels(int64_t since_ms) {
  std::vector<TurnLabel> labels;
  std::lock_guard lock(mu_);
  Statement& list = statements_->list_labels;
  ResetOnExit reset(list);
  list.BindInt64(1, since_ms);
  while (list.Step()) {
    TurnLabel& label = labels.emplace_back();
    label.session_id = list.ColumnText(0);
    label.turn = list.ColumnInt64(1);
    label.text = list.ColumnText(2);
    label.intent = list.ColumnText(3);
    label.predicted_intent = list.ColumnText(4);
    label.labelled_by = list.ColumnText(5);
    label.labelled_at_ms = list.ColumnInt64(6);
  }
  return labels;
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
