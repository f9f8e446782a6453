// Keys and the lockdown state as JSON, the same for the admin API and
// `chatbot keys ... --json`. Never a secret or a hash: ids, names, settings
// and usage only.
#ifndef CHATBOT_SECURITY_KEY_JSON_H_
#define CHATBOT_SECURITY_KEY_JSON_H_

#include <boost/json/object.hpp>
#include <cstdint>

#include "security/key_store.h"
#include "security/rate_limiter.h"

namespace chatbot::security {

// {"id", "name", "role", "status" (active|expired|revoked), "created_at",
//  "created_by", "expires_at", "rotated_at", "previous_secret_valid_until",
//  "revoked_at", "allow", "rate_limit": {"requests_per_second", "burst",
//  "source" (key|role)}, "usage": {"requests", "refused", "last_used_at",
//  "last_used_address"}}; times ISO-8601 UTC or null.
boost::json::object KeyToJson(const KeyRecord& record, const RateLimit& limit, int64_t now_ms);

// "active", "expired" or "revoked".
const char* KeyStatus(const KeyRecord& record, int64_t now_ms);

// {"on", "since", "by", "reason"}; `with_actor` false leaves "by" out (for
// /health, which anyone may read).
boost::json::object LockdownToJson(const LockdownState& state, bool with_actor = true);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_KEY_JSON_H_
