// Sessions and turns as JSON: as the API shows them (docs/api.md,
// "Sessions"), shared by the sessions routes and the review; and as
// `chatbot sessions show|list|export --json` writes them (docs/sessions.md),
// with the dialogue state and readable times.
#ifndef CHATBOT_SERVER_SESSION_JSON_H_
#define CHATBOT_SERVER_SESSION_JSON_H_

#include <boost/json/object.hpp>

#include "store/session_store.h"

namespace chatbot::server {

// {"turn", "message", "reply", "intent", "confidence", "out_of_scope",
//  "model", "model_version", "received_at_ms", "replied_at_ms"}
boost::json::object TurnJson(const store::Turn& turn);

// {"session_id", "created_at_ms", "updated_at_ms", "turns", "owner"}
boost::json::object SummaryJson(const store::SessionSummary& summary);

// The export form: {"id", "created_at", "created_at_ms", "updated_at",
// "updated_at_ms", "turn_count"}, times as "2024-05-01T12:34:56.789Z".
boost::json::object SummaryExportJson(const store::SessionSummary& summary);
// The summary's fields, "dialogue_state" (embedded as JSON when it parses,
// as a string otherwise, null when there is none yet) and "turns".
boost::json::object SessionExportJson(const store::Session& session);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_SESSION_JSON_H_
