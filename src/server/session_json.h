// Sessions and turns as the API shows them (docs/api.md, "Sessions"), shared
// by the sessions routes and the review.
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

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_SESSION_JSON_H_
