#include "security/key_json.h"

#include <boost/json.hpp>

#include "common/time.h"

namespace chatbot::security {
namespace json = boost::json;

namespace {

json::value Time(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(FormatTimestamp(*ms));
}

}  // namespace

const char* KeyStatus(const KeyRecord& record, int64_t now_ms) {
  return record.revoked() ? "revoked" : record.expired(now_ms) ? "expired" : "active";
}

json::object KeyToJson(const KeyRecord& r, const RateLimit& limit, int64_t now_ms) {
  json::object rate{
      {"requests_per_second", limit.unlimited() ? json::value(nullptr) : json::value(limit.rate)},
      {"burst", limit.unlimited() ? json::value(nullptr) : json::value(limit.burst)},
      {"source", r.rate_limit || r.burst ? "key" : "role"}};
  return {
      {"id", r.id},
      {"name", r.name},
      {"role", RoleName(r.role)},
      {"status", KeyStatus(r, now_ms)},
      {"created_at", FormatTimestamp(r.created_at_ms)},
      {"created_by", r.created_by},
      {"expires_at", Time(r.expires_at_ms)},
      {"rotated_at", Time(r.rotated_at_ms)},
      {"previous_secret_valid_until", r.previous_hash && r.previous_valid_until_ms > now_ms
                                          ? json::value(FormatTimestamp(r.previous_valid_until_ms))
                                          : json::value(nullptr)},
      {"revoked_at", Time(r.revoked_at_ms)},
      {"revoked_by", r.revoked_by.empty() ? json::value(nullptr) : json::value(r.revoked_by)},
      {"allow", json::array(r.allow.begin(), r.allow.end())},
      {"rate_limit", std::move(rate)},
      {"usage",
       {{"requests", r.requests},
        {"refused", r.refused},
        {"last_used_at", Time(r.last_used_at_ms)},
        {"last_used_address",
         r.last_used_address.empty() ? json::value(nullptr) : json::value(r.last_used_address)}}}};
}

json::object LockdownToJson(const LockdownState& state, bool with_actor) {
  json::object out{{"on", state.on},
                   {"since", state.since_ms != 0 ? json::value(FormatTimestamp(state.since_ms))
                                                 : json::value(nullptr)}};
  if (with_actor) out["by"] = state.by.empty() ? json::value(nullptr) : json::value(state.by);
  out["reason"] = state.reason;
  return out;
}

}  // namespace chatbot::security
