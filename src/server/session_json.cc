#include "server/session_json.h"

#include <boost/json.hpp>

#include "common/time.h"

namespace chatbot::server {

boost::json::object TurnJson(const store::Turn& t) {
  return {{"turn", t.number},
          {"message", t.user_text},
          {"reply", t.reply},
          {"intent", t.intent},
          {"confidence", t.confidence},
          {"out_of_scope", t.out_of_scope},
          {"model", t.model},
          {"model_version", t.model_version},
          {"received_at_ms", t.received_at_ms},
          {"replied_at_ms", t.replied_at_ms}};
}

boost::json::object SummaryJson(const store::SessionSummary& s) {
  return {{"session_id", s.id},
          {"created_at_ms", s.created_at_ms},
          {"updated_at_ms", s.updated_at_ms},
          {"turns", s.turn_count},
          {"owner", s.owner}};
}

namespace {

boost::json::object TurnExportJson(const store::Turn& t) {
  return {{"number", t.number},
          {"user_text", t.user_text},
          {"intent", t.intent},
          {"confidence", t.confidence},
          {"out_of_scope", t.out_of_scope},
          {"reply", t.reply},
          {"model", t.model},
          {"model_version", t.model_version},
          {"received_at_ms", t.received_at_ms},
          {"replied_at_ms", t.replied_at_ms}};
}

// The state is JSON written by the dialogue engine; a string keeps what
// does not parse.
boost::json::value StateJson(const std::string& state) {
  if (state.empty()) return nullptr;
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(state, error);
  if (error) return boost::json::string(state);
  return parsed;
}

}  // namespace

boost::json::object SummaryExportJson(const store::SessionSummary& s) {
  return {{"id", s.id},
          {"created_at", FormatTimestamp(s.created_at_ms)},
          {"created_at_ms", s.created_at_ms},
          {"updated_at", FormatTimestamp(s.updated_at_ms)},
          {"updated_at_ms", s.updated_at_ms},
          {"turn_count", s.turn_count}};
}

boost::json::object SessionExportJson(const store::Session& session) {
  boost::json::object object = SummaryExportJson(session.summary);
  object["dialogue_state"] = StateJson(session.dialogue_state);
  boost::json::array turns;
  for (const store::Turn& turn : session.turns) turns.push_back(TurnExportJson(turn));
  object["turns"] = std::move(turns);
  return object;
}

}  // namespace chatbot::server
