#include "store/postgres_session_store.h"

#include <algorithm>

#include "db/pg_migrations.h"

namespace chatbot::store {
namespace {

using db::PgParams;
using db::PgResult;
using db::PgStatement;

// Ids and texts compare by bytes (COLLATE "C"), as in SQLite, so that
// paging cursors order the same way on both backends. Labels have no
// foreign key to turns: they outlive the retention of their session
// (session_store.h, TurnLabel).
const std::vector<db::PgMigration> kSessionMigrations = {{1, R"sql(
CREATE TABLE sessions(
  id TEXT COLLATE "C" PRIMARY KEY,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  turn_count BIGINT NOT NULL DEFAULT 0,
  dialogue_state TEXT NOT NULL DEFAULT '',
  owner TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_created ON sessions(created_at_ms, id);
CREATE INDEX sessions_by_owner ON sessions(owner, created_at_ms, id);
CREATE INDEX sessions_by_updated ON sessions(updated_at_ms);
CREATE TABLE turns(
  session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  number BIGINT NOT NULL,
  user_text TEXT NOT NULL,
  intent TEXT COLLATE "C" NOT NULL,
  confidence DOUBLE PRECISION NOT NULL,
  out_of_scope BOOLEAN NOT NULL,
  reply TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  replied_at_ms BIGINT NOT NULL,
  PRIMARY KEY(session_id, number)
);
CREATE TABLE turn_labels(
  session_id TEXT COLLATE "C" NOT NULL,
  turn BIGINT NOT NULL,
  text TEXT NOT NULL,
  intent TEXT NOT NULL,
  predicted_intent TEXT NOT NULL,
  labelled_by TEXT NOT NULL,
  labelled_at_ms BIGINT NOT NULL,
  PRIMARY KEY(session_id, turn)
);
CREATE INDEX turn_labels_by_time ON turn_labels(labelled_at_ms);
)sql"}};

constexpr const char* kTurnColumns =
    "t.number, t.user_text, t.intent, t.confidence, t.out_of_scope, t.reply, t.model, "
    "t.model_version, t.received_at_ms, t.replied_at_ms";
constexpr const char* kSummaryColumns = "id, created_at_ms, updated_at_ms, turn_count, owner";

// Sessions deleted per statement by DeleteSessionsUpdatedBefore.
constexpr int64_t kDeleteBatch = 500;

const PgStatement kInsertSession{
    "insert_session",
    "INSERT INTO sessions(id, created_at_ms, updated_at_ms, owner) VALUES($1, $2, $2, $3)"};
const PgStatement kSelectSession{
    "select_session",
    "SELECT created_at_ms, updated_at_ms, turn_count, dialogue_state, owner FROM sessions "
    "WHERE id = $1"};
const PgStatement kSelectTurns{"select_turns", std::string("SELECT ") + kTurnColumns +
                                                   " FROM turns t WHERE t.session_id = $1 "
                                                   "ORDER BY t.number"};
// The session moves on only from the turn count the turn follows; the
// turn is inserted only when it did. One statement: one commit.
const PgStatement kAppendTurn{
    "append_turn",
    "WITH s AS (UPDATE sessions SET turn_count = $2, updated_at_ms = $11, dialogue_state = $12 "
    "WHERE id = $1 AND turn_count = $2::bigint - 1 RETURNING id) "
    "INSERT INTO turns(session_id, number, user_text, intent, confidence, out_of_scope, reply, "
    "model, model_version, received_at_ms, replied_at_ms) "
    "SELECT s.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM s"};
// A new session and its first turn: one statement, one commit.
const PgStatement kCreateWithTurn{
    "create_with_turn",
    "WITH s AS (INSERT INTO sessions(id, created_at_ms, updated_at_ms, owner, turn_count, "
    "dialogue_state) VALUES($1, $13, $11, $14, $2, $12) RETURNING id) "
    "INSERT INTO turns(session_id, number, user_text, intent, confidence, out_of_scope, reply, "
    "model, model_version, received_at_ms, replied_at_ms) "
    "SELECT s.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM s"};
// ForEachSession's pages: the sessions after the cursor (creation time, id)
// with their turns, a session without turns as one row of NULL turn columns.
constexpr int64_t kExportPage = 200;
const PgStatement kExportPageStatement{
    "export_page",
    std::string("SELECT s.id, s.created_at_ms, s.updated_at_ms, s.turn_count, s.dialogue_state, "
                "s.owner, ") +
        kTurnColumns +
        " FROM (SELECT * FROM sessions WHERE (created_at_ms, id) > ($1, $2) "
        "ORDER BY created_at_ms, id LIMIT $3) s LEFT JOIN turns t ON t.session_id = s.id "
        "ORDER BY s.created_at_ms, s.id, t.number"};
const PgStatement kTurnCount{"turn_count", "SELECT turn_count FROM sessions WHERE id = $1"};
const PgStatement kDeleteSession{
    "delete_session",
    "WITH d AS (DELETE FROM sessions WHERE id = $1 RETURNING id), "
    "l AS (DELETE FROM turn_labels WHERE session_id = $1) SELECT count(*) FROM d"};
const PgStatement kListSessions{"list_sessions",
                                std::string("SELECT ") + kSummaryColumns +
                                    " FROM sessions WHERE created_at_ms < $1 "
                                    "ORDER BY created_at_ms DESC, id DESC LIMIT $2"};
const PgStatement kListOwnerSessions{"list_owner_sessions",
                                     std::string("SELECT ") + kSummaryColumns +
                                         " FROM sessions WHERE owner = $3 AND created_at_ms < $1 "
                                         "ORDER BY created_at_ms DESC, id DESC LIMIT $2"};
const PgStatement kReview{
    "review", std::string("SELECT t.session_id, ") + kTurnColumns +
                  ", l.intent, l.predicted_intent, l.labelled_by, l.labelled_at_ms "
                  "FROM sessions s JOIN turns t ON t.session_id = s.id "
                  "LEFT JOIN turn_labels l ON l.session_id = t.session_id AND l.turn = t.number "
                  "WHERE s.updated_at_ms >= $1 AND t.received_at_ms >= $1 "
                  "AND (t.out_of_scope OR t.confidence < $2) "
                  "AND (t.received_at_ms, t.session_id, t.number) < ($3, $4, $5) "
                  "AND ($6 = 0 OR ($6 = 1) = (l.intent IS NULL)) "
                  "ORDER BY t.received_at_ms DESC, t.session_id DESC, t.number DESC LIMIT $7"};
const PgStatement kLabelTurn{
    "label_turn",
    "INSERT INTO turn_labels(session_id, turn, text, intent, predicted_intent, labelled_by, "
    "labelled_at_ms) SELECT session_id, number, user_text, $3, intent, $4, $5 FROM turns "
    "WHERE session_id = $1 AND number = $2 "
    "ON CONFLICT(session_id, turn) DO UPDATE SET text = EXCLUDED.text, "
    "intent = EXCLUDED.intent, predicted_intent = EXCLUDED.predicted_intent, "
    "labelled_by = EXCLUDED.labelled_by, labelled_at_ms = EXCLUDED.labelled_at_ms "
    "RETURNING text, predicted_intent"};
const PgStatement kDeleteLabel{"delete_label",
                               "DELETE FROM turn_labels WHERE session_id = $1 AND turn = $2"};
const PgStatement kListLabels{
    "list_labels",
    "SELECT session_id, turn, text, intent, predicted_intent, labelled_by, labelled_at_ms "
    "FROM turn_labels WHERE labelled_at_ms >= $1 ORDER BY labelled_at_ms, session_id, turn"};
const PgStatement kDeleteIdle{"delete_idle",
                              "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
                              "WHERE updated_at_ms < $1 LIMIT $2)"};
const PgStatement kCountSessions{"count_sessions", "SELECT count(*) FROM sessions"};
const PgStatement kHealth{"health", "SELECT 1 FROM sessions LIMIT 1"};

SessionSummary ReadSummary(const PgResult& r, int row) {
  SessionSummary summary;
  summary.id = r.Text(row, 0);
  summary.created_at_ms = r.Int(row, 1);
  summary.updated_at_ms = r.Int(row, 2);
  summary.turn_count = r.Int(row, 3);
  summary.owner = r.Text(row, 4);
  return summary;
}

Turn ReadTurn(const PgResult& r, int row, int first) {
  Turn turn;
  turn.number = r.Int(row, first);
  turn.user_text = r.Text(row, first + 1);
  turn.intent = r.Text(row, first + 2);
  turn.confidence = r.Double(row, first + 3);
  turn.out_of_scope = r.Bool(row, first + 4);
  turn.reply = r.Text(row, first + 5);
  turn.model = r.Text(row, first + 6);
  turn.model_version = r.Text(row, first + 7);
  turn.received_at_ms = r.Int(row, first + 8);
  turn.replied_at_ms = r.Int(row, first + 9);
  return turn;
}

TurnLabel ReadLabel(const PgResult& r, int row) {
  TurnLabel label;
  label.session_id = r.Text(row, 0);
  label.turn = r.Int(row, 1);
  label.text = r.Text(row, 2);
  label.intent = r.Text(row, 3);
  label.predicted_intent = r.Text(row, 4);
  label.labelled_by = r.Text(row, 5);
  label.labelled_at_ms = r.Int(row, 6);
  return label;
}

// ASCII letters folded to lower case and nothing else, as SQLite's LIKE
// does (session_store.h, SessionQuery::text).
std::string AsciiLower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string AsciiLowerSql(const std::string& column) {
  return "translate(" + column + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
}

// $1-$12 of kAppendTurn and kCreateWithTurn.
PgParams TurnParams(const std::string& session_id, const Turn& turn,
                    const std::string& dialogue_state) {
  return PgParams()
      .Text(session_id)
      .Int(turn.number)
      .Text(turn.user_text)
      .Text(turn.intent)
      .Double(turn.confidence)
      .Text(turn.out_of_scope ? "true" : "false")
      .Text(turn.reply)
      .Text(turn.model)
      .Text(turn.model_version)
      .Int(turn.received_at_ms)
      .Int(turn.replied_at_ms)
      .Text(dialogue_state);
}

}  // namespace

PostgresSessionStore::PostgresSessionStore(const db::PgOptions& options)
    : pool_(options, "sessions", kSessionMigrations) {}

int64_t PostgresSessionStore::NextCreationTime(int64_t now_ms) {
  std::lock_guard lock(created_mu_);
  last_created_ms_ = std::max(now_ms, last_created_ms_ + 1);
  return last_created_ms_;
}

void PostgresSessionStore::CreateSession(const std::string& id, int64_t now_ms,
                                         const std::string& owner) {
  const int64_t created = NextCreationTime(now_ms);
  auto connection = pool_.Acquire();
  try {
    connection->Run(kInsertSession, PgParams().Text(id).Int(created).Text(owner), "create session");
  } catch (const db::PgError& e) {
    if (e.sqlstate() == db::kUniqueViolation) throw StoreError("session " + id + " already exists");
    throw;
  }
}

void PostgresSessionStore::CreateSessionWithTurn(const std::string& id, const std::string& owner,
                                                 const Turn& turn,
                                                 const std::string& dialogue_state) {
  const int64_t created = NextCreationTime(turn.received_at_ms);
  auto connection = pool_.Acquire();
  try {
    connection->Run(kCreateWithTurn, TurnParams(id, turn, dialogue_state).Int(created).Text(owner),
                    "create session");
  } catch (const db::PgError& e) {
    if (e.sqlstate() == db::kUniqueViolation) throw StoreError("session " + id + " already exists");
    throw;
  }
}

std::optional<Session> PostgresSessionStore::GetSession(const std::string& id, bool with_turns) {
  auto connection = pool_.Acquire();
  // With turns: one snapshot, so that turn_count and the turns agree.
  std::optional<db::PgTransaction> transaction;
  if (with_turns) transaction.emplace(*connection, "ISOLATION LEVEL REPEATABLE READ READ ONLY");
  const PgResult row = connection->Run(kSelectSession, PgParams().Text(id), "get session");
  if (row.rows() == 0) return std::nullopt;
  Session session;
  session.summary.id = id;
  session.summary.created_at_ms = row.Int(0, 0);
  session.summary.updated_at_ms = row.Int(0, 1);
  session.summary.turn_count = row.Int(0, 2);
  session.dialogue_state = row.Text(0, 3);
  session.summary.owner = row.Text(0, 4);
  if (with_turns) {
    const PgResult turns = connection->Run(kSelectTurns, PgParams().Text(id), "get turns");
    for (int i = 0; i < turns.rows(); ++i) session.turns.push_back(ReadTurn(turns, i, 0));
    transaction->Commit();
  }
  return session;
}

void PostgresSessionStore::AppendTurn(const std::string& session_id, const Turn& turn,
                                      const std::string& dialogue_state) {
  const PgResult inserted =
      pool_.Run(kAppendTurn, TurnParams(session_id, turn, dialogue_state), "append turn");
  if (inserted.affected() == 1) return;
  const PgResult count =
      pool_.Run(kTurnCount, PgParams().Text(session_id), "append turn: read session");
  if (count.rows() == 0) throw StoreError("no session " + session_id);
  throw TurnConflict("session " + session_id + ": expected turn " +
                     std::to_string(count.Int(0, 0) + 1) + ", got " + std::to_string(turn.number));
}

void PostgresSessionStore::ForEachSession(const std::function<void(const Session&)>& visit) {
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection, "ISOLATION LEVEL REPEATABLE READ READ ONLY");
  int64_t after_ms = INT64_MIN;
  std::string after_id;
  for (;;) {
    const PgResult rows = connection->Run(kExportPageStatement,
                                          PgParams().Int(after_ms).Text(after_id).Int(kExportPage),
                                          "export sessions");
    if (rows.rows() == 0) break;
    Session session;
    for (int i = 0; i < rows.rows(); ++i) {
      const std::string id = rows.Text(i, 0);
      if (i == 0 || id != session.summary.id) {
        if (i > 0) visit(session);
        session = Session();
        session.summary.id = id;
        session.summary.created_at_ms = rows.Int(i, 1);
        session.summary.updated_at_ms = rows.Int(i, 2);
        session.summary.turn_count = rows.Int(i, 3);
        session.dialogue_state = rows.Text(i, 4);
        session.summary.owner = rows.Text(i, 5);
      }
      if (!rows.IsNull(i, 6)) session.turns.push_back(ReadTurn(rows, i, 6));
    }
    visit(session);
    after_ms = session.summary.created_at_ms;
    after_id = session.summary.id;
  }
  transaction.Commit();
}

bool PostgresSessionStore::DeleteSession(const std::string& id) {
  return pool_.Run(kDeleteSession, PgParams().Text(id), "delete session").Int(0, 0) > 0;
}

std::vector<SessionSummary> PostgresSessionStore::ListSessions(
    int limit, std::optional<int64_t> before_ms, const std::optional<std::string>& owner) {
  std::vector<SessionSummary> sessions;
  if (limit <= 0) return sessions;
  PgParams params;
  params.Int(before_ms.value_or(INT64_MAX)).Int(limit);
  if (owner) params.Text(*owner);
  const PgResult rows =
      pool_.Run(owner ? kListOwnerSessions : kListSessions, params, "list sessions");
  for (int i = 0; i < rows.rows(); ++i) sessions.push_back(ReadSummary(rows, i));
  return sessions;
}

std::vector<SessionSummary> PostgresSessionStore::FindSessions(const SessionQuery& query) {
  std::vector<SessionSummary> sessions;
  if (query.limit <= 0) return sessions;
  // Built per query from the filters given; every value is bound.
  PgParams params;
  params.Int(query.before_ms.value_or(INT64_MAX));
  std::string sql =
      std::string("SELECT ") + kSummaryColumns + " FROM sessions s WHERE created_at_ms < $1";
  // The placeholder of the parameter added last.
  auto next = [&params] {
    std::string placeholder = "$";
    placeholder += std::to_string(params.size());
    return placeholder;
  };
  if (query.owner) {
    params.Text(*query.owner);
    sql += " AND owner = " + next();
  }
  if (query.active_since_ms) {
    params.Int(*query.active_since_ms);
    sql += " AND updated_at_ms >= " + next();
  }
  if (query.active_until_ms) {
    params.Int(*query.active_until_ms);
    sql += " AND created_at_ms <= " + next();
  }
  if (!query.text.empty() || !query.intent.empty()) {
    sql += " AND EXISTS (SELECT 1 FROM turns t WHERE t.session_id = s.id";
    if (!query.text.empty()) {
      params.Text(AsciiLower(query.text));
      sql += " AND (strpos(" + AsciiLowerSql("t.user_text") + ", " + next() + ") > 0 OR strpos(" +
             AsciiLowerSql("t.reply") + ", " + next() + ") > 0)";
    }
    if (!query.intent.empty()) {
      params.Text(query.intent);
      sql += " AND t.intent = " + next();
    }
    sql += ")";
  }
  params.Int(query.limit);
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT " + next();

  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection, "READ ONLY");
  if (query.time_budget_ms > 0) {
    connection->Execute("SET LOCAL statement_timeout = " + std::to_string(query.time_budget_ms),
                        "find sessions: set the time budget");
  }
  try {
    const PgResult rows = connection->Execute(sql, params, "find sessions");
    for (int i = 0; i < rows.rows(); ++i) sessions.push_back(ReadSummary(rows, i));
  } catch (const db::PgError& e) {
    if (e.sqlstate() == db::kQueryCanceled) {
      throw SearchTimeout("session search stopped after " + std::to_string(query.time_budget_ms) +
                          " ms");
    }
    throw;
  }
  transaction.Commit();
  return sessions;
}

std::vector<ReviewItem> PostgresSessionStore::FindTurnsForReview(const ReviewQuery& query) {
  std::vector<ReviewItem> items;
  if (query.limit <= 0) return items;
  PgParams params;
  params.Int(query.since_ms).Double(query.below_confidence);
  if (query.before) {
    params.Int(query.before->received_at_ms).Text(query.before->session_id).Int(query.before->turn);
  } else {
    params.Int(INT64_MAX).Text("").Int(0);
  }
  params.Int(static_cast<int64_t>(query.status)).Int(query.limit);
  const PgResult rows = pool_.Run(kReview, params, "find turns for review");
  for (int i = 0; i < rows.rows(); ++i) {
    ReviewItem& item = items.emplace_back();
    item.session_id = rows.Text(i, 0);
    item.turn = ReadTurn(rows, i, 1);
    if (rows.IsNull(i, 11)) continue;
    TurnLabel& label = item.label.emplace();
    label.session_id = item.session_id;
    label.turn = item.turn.number;
    label.text = item.turn.user_text;
    label.intent = rows.Text(i, 11);
    label.predicted_intent = rows.Text(i, 12);
    label.labelled_by = rows.Text(i, 13);
    label.labelled_at_ms = rows.Int(i, 14);
  }
  return items;
}

std::optional<TurnLabel> PostgresSessionStore::LabelTurn(const std::string& session_id,
                                                         int64_t turn, const std::string& intent,
                                                         const std::string& labelled_by,
                                                         int64_t now_ms) {
  const PgResult row = pool_.Run(
      kLabelTurn, PgParams().Text(session_id).Int(turn).Text(intent).Text(labelled_by).Int(now_ms),
      "label turn");
  if (row.rows() == 0) return std::nullopt;
  TurnLabel label;
  label.session_id = session_id;
  label.turn = turn;
  label.text = row.Text(0, 0);
  label.intent = intent;
  label.predicted_intent = row.Text(0, 1);
  label.labelled_by = labelled_by;
  label.labelled_at_ms = now_ms;
  return label;
}

bool PostgresSessionStore::DeleteLabel(const std::string& session_id, int64_t turn) {
  return pool_.Run(kDeleteLabel, PgParams().Text(session_id).Int(turn), "delete label").affected() >
         0;
}

std::vector<TurnLabel> PostgresSessionStore::ListLabels(int64_t since_ms) {
  std::vector<TurnLabel> labels;
  const PgResult rows = pool_.Run(kListLabels, PgParams().Int(since_ms), "list labels");
  for (int i = 0; i < rows.rows(); ++i) labels.push_back(ReadLabel(rows, i));
  return labels;
}

int64_t PostgresSessionStore::DeleteSessionsUpdatedBefore(int64_t cutoff_ms) {
  int64_t deleted = 0;
  while (true) {
    const int64_t batch =
        pool_.Run(kDeleteIdle, PgParams().Int(cutoff_ms).Int(kDeleteBatch), "delete idle sessions")
            .affected();
    deleted += batch;
    if (batch < kDeleteBatch) return deleted;
  }
}

int64_t PostgresSessionStore::CountSessions() {
  return pool_.Run(kCountSessions, PgParams(), "count sessions").Int(0, 0);
}

bool PostgresSessionStore::CheckHealth(std::string* reason) {
  try {
    pool_.Run(kHealth, PgParams(), "health check");
    return true;
  } catch (const StoreError& e) {
    if (reason != nullptr) *reason = e.what();
    return false;
  }
}

}  // namespace chatbot::store
