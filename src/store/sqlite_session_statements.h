// What the two halves of SqliteSessionStore share (sqlite_session_store.h):
// the prepared statements, the transaction over them, and reading the rows
// of sessions and turns. The sessions themselves are in
// sqlite_session_store.cc; search, review and labels in
// sqlite_session_review.cc. Private to those files.
#ifndef CHATBOT_STORE_SQLITE_SESSION_STATEMENTS_H_
#define CHATBOT_STORE_SQLITE_SESSION_STATEMENTS_H_

#include <sqlite3.h>

#include <string>

#include "db/sqlite_statement.h"
#include "store/sqlite_session_store.h"

namespace chatbot::store {
namespace internal {

using db::Execute;
using db::QueryInt64;
using db::ResetOnExit;
using db::Statement;

// The columns of a turn, in the order ReadTurn expects, for queries that
// alias the turns table as t.
inline constexpr const char* kTurnColumns =
    "t.number, t.user_text, t.intent, t.confidence, t.out_of_scope, t.reply, t.model, "
    "t.model_version, t.received_at_ms, t.replied_at_ms";

// Reads "id, created_at_ms, updated_at_ms, turn_count, owner".
SessionSummary ReadSummary(const Statement& row);
// Reads the columns of kTurnColumns, starting at `first`.
Turn ReadTurn(const Statement& row, int first);

// Rolls back unless committed, so that every way out of a transaction
// (a StoreError, a wrong turn number, an exception from a visitor) leaves
// the connection outside any transaction. Unlike db::Transaction, which
// parses its BEGIN and COMMIT each time, it runs the prepared statements of
// Statements: a chat turn is one transaction, on the request path.
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

}  // namespace internal

using namespace internal;  // NOLINT: private to the store's own files

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

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SQLITE_SESSION_STATEMENTS_H_
