#include "server/admin_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "common/duration.h"
#include "common/error.h"
#include "common/logging.h"
#include "ops/notice_admin.h"
#include "security/key_json.h"
#include "server/cluster_sync.h"
#include "server/json_response.h"

namespace chatbot::server {
namespace json = boost::json;
using security::KeyError;

namespace {

// Thrown while reading a request body; answered 400 with its code.
struct BadRequest {
  const char* code;
  std::string message;
};

// The body as a JSON object; an empty body reads as {}. A field not in
// `fields` is refused (400 unknown_field): an admin's typo must not be an
// ignored change, nor may a body set what the endpoint does not offer
// (ids, hashes, usage counters, the actor).
json::object ReadBody(const HttpRequest& request, std::initializer_list<std::string_view> fields) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  std::string type(
      request.Header("content-type").substr(0, request.Header("content-type").find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "application/json") throw BadRequest{"unsupported_media_type", ""};
  boost::system::error_code error;
  json::value value = json::parse(request.body, error);
  if (error) throw BadRequest{"malformed_json", "the body is not valid JSON: " + error.message()};
  if (!value.is_object()) throw BadRequest{"malformed_json", "the body must be a JSON object"};
  for (const auto& field : value.as_object()) {
    if (std::find(fields.begin(), fields.end(), field.key()) == fields.end()) {
      std::string known;
      for (std::string_view name : fields) known += (known.empty() ? "" : ", ") + std::string(name);
      throw BadRequest{"unknown_field",
                       "the field '" + std::string(field.key()) +
                           "' is not one of: " + (known.empty() ? "(none)" : known)};
    }
  }
  return std::move(value.as_object());
}

std::optional<std::string> OptionalString(const json::object& body, std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    throw BadRequest{"wrong_type", "the field '" + std::string(field) + "' must be a string"};
  }
  return std::string(v->as_string());
}

// A number, or null for "none" (the outer optional: whether it was given).
std::optional<std::optional<double>> OptionalNumber(const json::object& body,
                                                    std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  if (v->is_null()) return std::optional<double>();
  if (!v->is_number()) {
    throw BadRequest{"wrong_type", "the field '" + std::string(field) + "' must be a number"};
  }
  return std::optional<double>(v->to_number<double>());
}

std::optional<std::vector<std::string>> OptionalStrings(const json::object& body,
                                                        std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  const std::string what = "the field '" + std::string(field) + "' must be an array of strings";
  if (!v->is_array()) throw BadRequest{"wrong_type", what};
  std::vector<std::string> out;
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) throw BadRequest{"wrong_type", what};
    out.emplace_back(item.as_string());
  }
  return out;
}

security::Role RoleField(const std::string& text) {
  const std::optional<security::Role> role = security::ParseRole(text);
  if (!role) {
    throw BadRequest{"bad_parameter", "role '" + text + "' is not one of client, operator, admin"};
  }
  return *role;
}

int64_t DurationField(const std::string& field, const std::string& text, bool allow_zero) {
  const std::optional<int64_t> ms = ParseDurationMs(text, allow_zero);
  if (!ms) {
    throw BadRequest{"bad_parameter",
                     field + " '" + text + "' is not a duration such as 30m, 24h, 90d or 2w"};
  }
  return *ms;
}

}  // namespace

AdminApi::AdminApi(security::AccessControl* access, std::string config_text,
                   ops::NoticeBoard* notices)
    : access_(access), notices_(notices), config_text_(std::move(config_text)) {}

void AdminApi::Handle(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  try {
    if (path == "/v1/admin/keys") {
      if (method == "GET") return ListKeys(response);
      if (method == "POST") return CreateKey(request, principal, response);
      return MethodNotAllowed(response, "GET, POST");
    }
    constexpr std::string_view kKeys = "/v1/admin/keys/";
    if (path.starts_with(kKeys) && path.size() > kKeys.size()) {
      const std::string rest = path.substr(kKeys.size());
      const size_t slash = rest.find('/');
      const std::string id = rest.substr(0, slash);
      const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (action.empty() || action == "rotate" || action == "revoke") {
        return KeyRoute(request, principal, id, action, response);
      }
    }
    if (path == "/v1/admin/lockdown") {
      if (method != "GET" && method != "POST") return MethodNotAllowed(response, "GET, POST");
      return Lockdown(request, principal, response);
    }
    if (path == "/v1/admin/notice" && notices_ != nullptr) {
      if (method != "GET" && method != "PUT" && method != "DELETE") {
        return MethodNotAllowed(response, "GET, PUT, DELETE");
      }
      return Notice(request, principal, response);
    }
    if (path == "/v1/admin/config") {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return SetJson(response, 200, json::object{{"config", config_text_}});
    }
    if (ClusterSync* cluster = cluster_.load(); path == "/v1/admin/cluster" && cluster) {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return SetJson(response, 200, cluster->StatusJson());
    }
    SetError(response, 404, "not_found", "no resource at " + path);
  } catch (const BadRequest& e) {
    if (std::string_view(e.code) == "unsupported_media_type") {
      return SetError(response, 415, e.code, "send the body as application/json");
    }
    SetError(response, 400, e.code, e.message);
  } catch (const StoreError& e) {
    AppLog()->error("admin request {}: keys database: {}", request.request_id, e.what());
    SetError(response, 503, "storage_unavailable", "the database is unavailable; try again");
    response->headers.emplace_back("Retry-After", "5");
  } catch (const KeyError& e) {
    switch (e.kind()) {
      case KeyError::Kind::kInvalid:
        return SetError(response, 400, "bad_parameter", e.what());
      case KeyError::Kind::kNotFound:
        return SetError(response, 404, "key_not_found", e.what());
      case KeyError::Kind::kConflict:
        return SetError(response, 409, "conflict", e.what());
    }
  }
}

void AdminApi::ListKeys(HttpResponse* response) {
  const int64_t now = security::SystemClock::Instance()->WallMs();
  json::array keys;
  for (const security::KeyRecord& r : access_->ListKeys()) {
    keys.push_back(security::KeyToJson(r, access_->EffectiveLimit(r), now));
  }
  SetJson(response, 200, json::object{{"keys", std::move(keys)}});
}

void AdminApi::CreateKey(const HttpRequest& request, const security::Principal& principal,
                         HttpResponse* response) {
  const json::object body =
      ReadBody(request, {"name", "role", "expires", "allow", "rate_limit", "burst"});
  security::NewKey key;
  const std::optional<std::string> name = OptionalString(body, "name");
  const std::optional<std::string> role = OptionalString(body, "role");
  if (!name) throw BadRequest{"missing_field", "the field 'name' is required"};
  if (!role) throw BadRequest{"missing_field", "the field 'role' is required"};
  key.name = *name;
  key.role = RoleField(*role);
  if (const json::value* expires = body.if_contains("expires"); expires && !expires->is_null()) {
    if (!expires->is_string()) {
      throw BadRequest{"wrong_type", "the field 'expires' must be a duration string or null"};
    }
    key.expires_in_ms = DurationField("expires", std::string(expires->as_string()), false);
  }
  if (auto allow = OptionalStrings(body, "allow")) key.allow = std::move(*allow);
  if (auto rate = OptionalNumber(body, "rate_limit")) key.rate_limit = *rate;
  if (auto burst = OptionalNumber(body, "burst")) key.burst = *burst;
  const security::IssuedKey issued = access_->CreateKey(key, access_->ActorFor(principal));
  json::object out = security::KeyToJson(issued.record, access_->EffectiveLimit(issued.record),
                                         issued.record.created_at_ms);
  out["key"] = issued.key;
  out["warning"] = "the key is shown only now: store it safely";
  SetJson(response, 201, out);
}

void AdminApi::KeyRoute(const HttpRequest& request, const security::Principal& principal,
                        const std::string& id, const std::string& action, HttpResponse* response) {
  const std::string& method = request.method;
  const int64_t now = security::SystemClock::Instance()->WallMs();
  const security::Actor actor = access_->ActorFor(principal);
  if (action == "rotate") {
    if (method != "POST") return MethodNotAllowed(response, "POST");
    const json::object body = ReadBody(request, {"grace"});
    int64_t grace = 0;
    if (auto text = OptionalString(body, "grace")) grace = DurationField("grace", *text, true);
    const security::IssuedKey issued = access_->RotateKey(id, grace, actor);
    json::object out =
        security::KeyToJson(issued.record, access_->EffectiveLimit(issued.record), now);
    out["key"] = issued.key;
    out["warning"] = "the key is shown only now: store it safely";
    return SetJson(response, 200, out);
  }
  if (action == "revoke" || (action.empty() && method == "DELETE")) {
    if (method != "POST" && method != "DELETE") return MethodNotAllowed(response, "POST");
    const security::KeyRecord record = access_->RevokeKey(id, actor);
    return SetJson(response, 200,
                   security::KeyToJson(record, access_->EffectiveLimit(record), now));
  }
  if (method == "GET") {
    const security::KeyRecord record = access_->GetKey(id);
    return SetJson(response, 200,
                   security::KeyToJson(record, access_->EffectiveLimit(record), now));
  }
  if (method != "PATCH") return MethodNotAllowed(response, "GET, PATCH, DELETE");
  const json::object body =
      ReadBody(request, {"name", "role", "expires", "allow", "rate_limit", "burst"});
  security::KeyChange change;
  change.name = OptionalString(body, "name");
  if (auto role = OptionalString(body, "role")) change.role = RoleField(*role);
  if (const json::value* expires = body.if_contains("expires")) {
    if (expires->is_null()) {
      change.expires_in_ms = std::optional<int64_t>();
    } else if (expires->is_string()) {
      change.expires_in_ms = DurationField("expires", std::string(expires->as_string()), false);
    } else {
      throw BadRequest{"wrong_type", "the field 'expires' must be a duration string or null"};
    }
  }
  change.allow = OptionalStrings(body, "allow");
  change.rate_limit = OptionalNumber(body, "rate_limit");
  change.burst = OptionalNumber(body, "burst");
  const security::KeyRecord record = access_->UpdateKey(id, change, actor);
  SetJson(response, 200, security::KeyToJson(record, access_->EffectiveLimit(record), now));
}

void AdminApi::Lockdown(const HttpRequest& request, const security::Principal& principal,
                        HttpResponse* response) {
  if (request.method == "POST") {
    const json::object body = ReadBody(request, {"on", "reason"});
    const json::value* on = body.if_contains("on");
    if (on == nullptr) throw BadRequest{"missing_field", "the field 'on' is required"};
    if (!on->is_bool()) throw BadRequest{"wrong_type", "the field 'on' must be true or false"};
    const std::string reason = OptionalString(body, "reason").value_or("");
    access_->SetLockdown(on->as_bool(), reason, access_->ActorFor(principal));
  }
  SetJson(response, 200, json::object{{"lockdown", security::LockdownToJson(access_->lockdown())}});
}

void AdminApi::Notice(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  const int64_t now = security::SystemClock::Instance()->WallMs();
  if (request.method == "PUT") {
    const json::object body = ReadBody(request, {"text", "until"});
    const std::optional<std::string> text = OptionalString(body, "text");
    if (!text) throw BadRequest{"missing_field", "the field 'text' is required"};
    std::string until_text;
    if (const json::value* until = body.if_contains("until"); until && !until->is_null()) {
      if (!until->is_string()) {
        throw BadRequest{"wrong_type", "the field 'until' must be a time, a duration or null"};
      }
      until_text = std::string(until->as_string());
    }
    ops::ServiceNotice notice;
    try {
      notice = ops::MakeNotice(*text, until_text, access_->ActorFor(principal).Describe(), now);
    } catch (const std::invalid_argument& e) {
      throw BadRequest{"bad_parameter", e.what()};
    }
    notices_->Set(notice);
    access_->audit()->Write("notice.set", access_->ActorFor(principal),
                            ops::NoticeToJson(notice).as_object(), now);
  } else if (request.method == "DELETE") {
    if (notices_->Clear()) {
      access_->audit()->Write("notice.clear", access_->ActorFor(principal), {}, now);
    }
  }
  SetJson(response, 200, json::object{{"notice", ops::NoticeToJson(notices_->Current())}});
}

}  // namespace chatbot::server
