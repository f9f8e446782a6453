#include "server/session_json.h"

#include <boost/json.hpp>

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

}  // namespace chatbot::server
