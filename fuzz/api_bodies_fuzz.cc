// Every JSON body the HTTP API accepts (server/request_bodies.h): parse,
// batch, chat, review label, key create, rotate and change, lockdown and
// notice. The input: the body's name, then after a "%%" line its
// Content-Type, then after another the body. What holds: a body is read or
// refused with 400, 415 (only for a Content-Type other than JSON) or 422 and
// a code and a message, never another exception; a text read is within its
// limits and not blank; and what was read, written back as JSON, reads back
// the same.
#include <boost/json.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "fuzz_support.h"
#include "server/request_bodies.h"

using namespace chatbot;
namespace json = boost::json;

namespace {

constexpr size_t kMaxText = 64;
constexpr size_t kMaxBatch = 4;

server::HttpRequest Request(std::string content_type, std::string body) {
  server::HttpRequest request;
  request.method = "POST";
  request.headers.emplace_back("content-type", std::move(content_type));
  request.body = std::move(body);
  return request;
}

void CheckText(const std::string& text) {
  FUZZ_CHECK(text.size() <= kMaxText, text);
  FUZZ_CHECK(text.find_first_not_of(" \t\r\n") != std::string::npos, text);
}

// Durations read back in seconds: every duration the grammar accepts is a
// whole number of them.
json::value Seconds(int64_t ms) {
  return json::value(std::to_string(ms / 1000) + "s");
}

json::object KeyJson(const security::KeyChange& change) {
  json::object out;
  if (change.name) out["name"] = *change.name;
  if (change.role) out["role"] = security::RoleName(*change.role);
  if (change.expires_in_ms) {
    out["expires"] = *change.expires_in_ms ? Seconds(**change.expires_in_ms) : json::value();
  }
  if (change.allow) out["allow"] = json::array(change.allow->begin(), change.allow->end());
  if (change.rate_limit)
    out["rate_limit"] = *change.rate_limit ? json::value(**change.rate_limit) : json::value();
  if (change.burst) out["burst"] = *change.burst ? json::value(**change.burst) : json::value();
  return out;
}

// What a key body set, comparable as text. Rate limits print to 12
// digits: Boost.JSON 1.81 reads long numbers a few bits off
// (use/vocabulary_json.h), and a limit read back is the same to 1e-12.
std::string KeyText(const security::KeyChange& change) {
  const auto number = [](const std::optional<std::optional<double>>& value) -> std::string {
    if (!value) return "unset";
    if (!*value) return "none";
    char text[32];
    std::snprintf(text, sizeof text, "%.12g", **value);
    return text;
  };
  json::object out = KeyJson(change);
  out["rate_limit"] = number(change.rate_limit);
  out["burst"] = number(change.burst);
  return json::serialize(out);
}

security::KeyChange AsChange(const security::NewKey& key) {
  security::KeyChange change;
  change.name = key.name;
  change.role = key.role;
  change.expires_in_ms = key.expires_in_ms;
  change.allow = key.allow;
  change.rate_limit = key.rate_limit;
  change.burst = key.burst;
  return change;
}

// Reads `body` as the body `name`, and returns it written back as JSON (the
// same body, re-serialised) together with a comparable form of what was read.
using Reading = std::pair<json::object, std::string>;
using Reader = std::function<Reading(const server::HttpRequest&)>;

const std::map<std::string, Reader, std::less<>>& Readers() {
  static const auto* readers = new std::map<std::string, Reader, std::less<>>{
      {"parse",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadParseBody(r, kMaxText);
         CheckText(body.text);
         return Reading{{{"text", body.text}}, body.text};
       }},
      {"batch",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadParseBatchBody(r, kMaxText, kMaxBatch);
         FUZZ_CHECK(!body.texts.empty() && body.texts.size() <= kMaxBatch, "batch size");
         for (const std::string& text : body.texts) CheckText(text);
         json::array texts(body.texts.begin(), body.texts.end());
         return Reading{{{"texts", texts}}, json::serialize(texts)};
       }},
      {"chat",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadChatBody(r, kMaxText);
         CheckText(body.message);
         json::object out{{"message", body.message}};
         if (!body.session_id.empty()) out["session_id"] = body.session_id;
         return Reading{out, json::serialize(out)};
       }},
      {"label",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadLabelBody(r);
         FUZZ_CHECK(body.turn >= 1, std::to_string(body.turn));
         json::object out{
             {"session_id", body.session_id}, {"turn", body.turn}, {"intent", body.intent}};
         return Reading{out, json::serialize(out)};
       }},
      {"key",
       [](const server::HttpRequest& r) {
         const security::KeyChange change = AsChange(server::ReadNewKeyBody(r));
         return Reading{KeyJson(change), KeyText(change)};
       }},
      {"key_change",
       [](const server::HttpRequest& r) {
         const security::KeyChange change = server::ReadKeyChangeBody(r);
         return Reading{KeyJson(change), KeyText(change)};
       }},
      {"rotate",
       [](const server::HttpRequest& r) {
         const int64_t grace = server::ReadRotateBody(r);
         FUZZ_CHECK(grace >= 0 && grace % 1000 == 0, std::to_string(grace));
         return Reading{{{"grace", Seconds(grace)}}, std::to_string(grace)};
       }},
      {"lockdown",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadLockdownBody(r);
         json::object out{{"on", body.on}, {"reason", body.reason}};
         return Reading{out, json::serialize(out)};
       }},
      {"notice",
       [](const server::HttpRequest& r) {
         const auto body = server::ReadNoticeBody(r);
         json::object out{{"text", body.text}};
         if (!body.until.empty()) out["until"] = body.until;
         return Reading{out, json::serialize(out)};
       }},
  };
  return *readers;
}

bool IsJson(std::string_view content_type) {
  std::string media(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (char& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media == "application/json";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::SplitParts(fuzz::Text(data, size), 3);
  if (parts.size() < 3) return 0;
  const auto reader = Readers().find(parts[0]);
  if (reader == Readers().end()) return 0;
  const std::string content_type(parts[1]);
  Reading first;
  try {
    first = reader->second(Request(content_type, std::string(parts[2])));
  } catch (const server::BodyError& e) {
    FUZZ_CHECK(e.status == 400 || e.status == 415 || e.status == 422, std::to_string(e.status));
    FUZZ_CHECK((e.status == 415) == (e.code == "unsupported_media_type"), e.code);
    FUZZ_CHECK(e.status != 415 || !IsJson(content_type), content_type);
    FUZZ_CHECK(!e.code.empty() && !e.message.empty(), e.code);
    return 0;
  }
  // Written back and read again: the same request.
  const std::string written = json::serialize(first.first);
  Reading again;
  try {
    again = reader->second(Request("application/json", written));
  } catch (const server::BodyError& e) {
    fuzz::Fail("what was read does not read back: " + e.message, written);
  }
  FUZZ_CHECK(again.second == first.second, written);
  return 0;
}
