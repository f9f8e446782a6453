#include "server/request_bodies.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "security/role.h"

namespace chatbot::server {
namespace json = boost::json;
namespace {

// application/json, parameters (charset) and case aside.
bool IsJsonContentType(std::string_view type) {
  std::string_view media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  return std::equal(media.begin(), media.end(), kJson.begin(), kJson.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

[[noreturn]] void Refuse(int status, std::string code, std::string message) {
  throw BodyError{status, std::move(code), std::move(message)};
}

json::object ParseObject(const std::string& body) {
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (error) Refuse(400, "malformed_json", "the body is not valid JSON: " + error.message());
  if (!value.is_object()) Refuse(400, "malformed_json", "the body must be a JSON object");
  return std::move(value.as_object());
}

// The prediction and chat bodies: a JSON object sent as application/json.
json::object ReadJsonObject(const HttpRequest& request) {
  if (!IsJsonContentType(request.Header("content-type"))) {
    Refuse(415, "unsupported_media_type", "send the body as application/json");
  }
  return ParseObject(request.body);
}

// The admin bodies: an empty body reads as {}; a field not in `fields` is
// refused.
json::object ReadAdminObject(const HttpRequest& request,
                             std::initializer_list<std::string_view> fields) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  json::object body = ReadJsonObject(request);
  for (const auto& field : body) {
    if (std::find(fields.begin(), fields.end(), field.key()) == fields.end()) {
      std::string known;
      for (std::string_view name : fields) known += (known.empty() ? "" : ", ") + std::string(name);
      Refuse(400, "unknown_field",
             "the field '" + std::string(field.key()) + "' is not one of: " + known);
    }
  }
  return body;
}

// A text to classify, named `what` in messages ("the field 'text'",
// "texts[3]").
std::string Text(const json::value* value, const std::string& what, size_t max_bytes) {
  if (value == nullptr) Refuse(400, "missing_field", what + " is required");
  if (!value->is_string()) Refuse(400, "wrong_type", what + " must be a string");
  const json::string& text = value->as_string();
  if (std::string_view(text).find_first_not_of(" \t\r\n") == std::string_view::npos) {
    Refuse(422, "text_empty", what + " is empty");
  }
  if (text.size() > max_bytes) {
    Refuse(422, "text_too_long",
           what + " has " + std::to_string(text.size()) + " bytes; the limit is " +
               std::to_string(max_bytes));
  }
  return std::string(text);
}

std::string Quoted(std::string_view field) {
  return "the field '" + std::string(field) + "'";
}

std::optional<std::string> OptionalString(const json::object& body, std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) Refuse(400, "wrong_type", Quoted(field) + " must be a string");
  return std::string(v->as_string());
}

std::string RequiredString(const json::object& body, std::string_view field) {
  std::optional<std::string> value = OptionalString(body, field);
  if (!value) Refuse(400, "missing_field", Quoted(field) + " is required");
  return std::move(*value);
}

// A number, or null for "none" (the outer optional: whether it was given).
std::optional<std::optional<double>> OptionalNumber(const json::object& body,
                                                    std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  if (v->is_null()) return std::optional<double>();
  if (!v->is_number()) Refuse(400, "wrong_type", Quoted(field) + " must be a number");
  // A number too large for a double reads as infinity: no limit a key can
  // have, and not JSON when written back.
  const double number = v->to_number<double>();
  if (!std::isfinite(number)) Refuse(400, "bad_parameter", Quoted(field) + " is out of range");
  return std::optional<double>(number);
}

std::optional<std::vector<std::string>> OptionalStrings(const json::object& body,
                                                        std::string_view field) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return std::nullopt;
  const std::string what = Quoted(field) + " must be an array of strings";
  if (!v->is_array()) Refuse(400, "wrong_type", what);
  std::vector<std::string> out;
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) Refuse(400, "wrong_type", what);
    out.emplace_back(item.as_string());
  }
  return out;
}

security::Role RoleField(const std::string& text) {
  const std::optional<security::Role> role = security::ParseRole(text);
  if (!role) {
    Refuse(400, "bad_parameter", "role '" + text + "' is not one of client, operator, admin");
  }
  return *role;
}

int64_t DurationField(std::string_view field, const std::string& text, bool allow_zero) {
  const std::optional<int64_t> ms = ParseDurationMs(text, allow_zero);
  if (!ms) {
    Refuse(400, "bad_parameter",
           std::string(field) + " '" + text + "' is not a duration such as 30m, 24h, 90d or 2w");
  }
  return *ms;
}

// "expires": absent, null (never) or a duration.
std::optional<std::optional<int64_t>> Expires(const json::object& body) {
  const json::value* expires = body.if_contains("expires");
  if (expires == nullptr) return std::nullopt;
  if (expires->is_null()) return std::optional<int64_t>();
  if (!expires->is_string()) {
    Refuse(400, "wrong_type", "the field 'expires' must be a duration string or null");
  }
  return DurationField("expires", std::string(expires->as_string()), false);
}

// The fields of a key's body, as created or changed.
json::object ReadKeyObject(const HttpRequest& request) {
  return ReadAdminObject(request, {"name", "role", "expires", "allow", "rate_limit", "burst"});
}

}  // namespace

ParseBody ReadParseBody(const HttpRequest& request, size_t max_text_bytes) {
  const json::object body = ReadJsonObject(request);
  return {Text(body.if_contains("text"), Quoted("text"), max_text_bytes)};
}

ParseBatchBody ReadParseBatchBody(const HttpRequest& request, size_t max_text_bytes,
                                  size_t max_batch) {
  const json::object body = ReadJsonObject(request);
  const json::value* texts = body.if_contains("texts");
  if (texts == nullptr || !texts->is_array()) {
    Refuse(400, "wrong_type", "the field 'texts' must be an array of strings");
  }
  const json::array& items = texts->as_array();
  if (items.empty()) Refuse(422, "texts_empty", "'texts' is empty");
  if (items.size() > max_batch) {
    Refuse(422, "too_many_texts",
           "'texts' has " + std::to_string(items.size()) + " entries; the limit is " +
               std::to_string(max_batch));
  }
  ParseBatchBody out;
  out.texts.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.texts.push_back(Text(&items[i], "texts[" + std::to_string(i) + "]", max_text_bytes));
  }
  return out;
}

ChatBody ReadChatBody(const HttpRequest& request, size_t max_text_bytes) {
  const json::object body = ReadJsonObject(request);
  ChatBody out{Text(body.if_contains("message"), Quoted("message"), max_text_bytes), ""};
  if (const json::value* id = body.if_contains("session_id"); id && !id->is_null()) {
    if (!id->is_string()) Refuse(400, "wrong_type", "the field 'session_id' must be a string");
    out.session_id = std::string(id->as_string());
  }
  return out;
}

LabelBody ReadLabelBody(const HttpRequest& request) {
  boost::system::error_code error;
  const json::value body = json::parse(request.body, error);
  if (error || !body.is_object()) {
    Refuse(400, "malformed_json",
           "the body must be a JSON object: {\"session_id\", \"turn\", \"intent\"}");
  }
  const json::object& fields = body.as_object();
  const json::value* session_id = fields.if_contains("session_id");
  const json::value* turn = fields.if_contains("turn");
  const json::value* intent = fields.if_contains("intent");
  if (session_id == nullptr || turn == nullptr || intent == nullptr) {
    Refuse(400, "missing_field", "the fields 'session_id', 'turn' and 'intent' are required");
  }
  if (!session_id->is_string()) {
    Refuse(400, "wrong_type", "the field 'session_id' must be a string");
  }
  if (!turn->is_int64() || turn->as_int64() < 1) {
    Refuse(400, "wrong_type", "the field 'turn' must be a positive integer");
  }
  if (!intent->is_string()) Refuse(400, "wrong_type", "the field 'intent' must be a string");
  return {std::string(session_id->as_string()), turn->as_int64(), std::string(intent->as_string())};
}

security::NewKey ReadNewKeyBody(const HttpRequest& request) {
  const json::object body = ReadKeyObject(request);
  security::NewKey key;
  key.name = RequiredString(body, "name");
  key.role = RoleField(RequiredString(body, "role"));
  if (auto expires = Expires(body)) key.expires_in_ms = *expires;
  if (auto allow = OptionalStrings(body, "allow")) key.allow = std::move(*allow);
  if (auto rate = OptionalNumber(body, "rate_limit")) key.rate_limit = *rate;
  if (auto burst = OptionalNumber(body, "burst")) key.burst = *burst;
  return key;
}

int64_t ReadRotateBody(const HttpRequest& request) {
  const json::object body = ReadAdminObject(request, {"grace"});
  const std::optional<std::string> grace = OptionalString(body, "grace");
  return grace ? DurationField("grace", *grace, true) : 0;
}

security::KeyChange ReadKeyChangeBody(const HttpRequest& request) {
  const json::object body = ReadKeyObject(request);
  security::KeyChange change;
  change.name = OptionalString(body, "name");
  if (auto role = OptionalString(body, "role")) change.role = RoleField(*role);
  change.expires_in_ms = Expires(body);
  change.allow = OptionalStrings(body, "allow");
  change.rate_limit = OptionalNumber(body, "rate_limit");
  change.burst = OptionalNumber(body, "burst");
  return change;
}

LockdownBody ReadLockdownBody(const HttpRequest& request) {
  const json::object body = ReadAdminObject(request, {"on", "reason"});
  const json::value* on = body.if_contains("on");
  if (on == nullptr) Refuse(400, "missing_field", "the field 'on' is required");
  if (!on->is_bool()) Refuse(400, "wrong_type", "the field 'on' must be true or false");
  return {on->as_bool(), OptionalString(body, "reason").value_or("")};
}

NoticeBody ReadNoticeBody(const HttpRequest& request) {
  const json::object body = ReadAdminObject(request, {"text", "until"});
  NoticeBody out{RequiredString(body, "text"), ""};
  if (const json::value* until = body.if_contains("until"); until && !until->is_null()) {
    if (!until->is_string()) {
      Refuse(400, "wrong_type", "the field 'until' must be a time, a duration or null");
    }
    out.until = std::string(until->as_string());
  }
  return out;
}

}  // namespace chatbot::server
