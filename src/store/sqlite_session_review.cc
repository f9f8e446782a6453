// SqliteSessionStore's search, review and labels (sqlite_session_store.h):
// FindSessions on the read connections of search_connections.h, the turns
// the bot was unsure about, and operators' labels of turns.
#include <utility>

#include "common/error.h"
#include "store/sqlite_session_statements.h"

namespace chatbot::store {

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
    upsert.BindAll(label.session_id, label.turn, label.text, label.intent, label.predicted_intent,
                   label.labelled_by, label.labelled_at_ms);
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

}  // namespace chatbot::store
