// ApiHandler's routes that classify and converse (api_handler.h):
// /v1/parse, /v1/parse/batch, /v1/chat and /v1/sessions, with the
// validation of their JSON bodies. Routing, security, health, the bot
// profile and the model routes are in api_handler.cc.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <functional>
#include <optional>

#include "common/error.h"
#include "common/logging.h"
#include "dialogue/chat_service.h"
#include "nlu/text_normalizer.h"
#include "security/key_json.h"
#include "server/api_handler.h"
#include "server/compression.h"
#include "server/expensive_requests.h"
#include "server/json_response.h"
#include "server/query_string.h"
#include "server/session_json.h"

namespace chatbot::server {
namespace json = boost::json;

namespace {

bool IsJsonContentType(std::string_view type) {
  // "application/json", optionally with parameters ("; charset=utf-8").
  const size_t semicolon = type.find(';');
  std::string_view media = type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  }
  return true;
}

// Parses a JSON object body; on failure writes the error response.
bool ReadJsonObject(const HttpRequest& request, HttpResponse* response, json::object* out) {
  if (!IsJsonContentType(request.Header("content-type"))) {
    SetError(response, 415, "unsupported_media_type", "send the body as application/json");
    return false;
  }
  boost::system::error_code error;
  json::value value = json::parse(request.body, error);
  if (error) {
    SetError(response, 400, "malformed_json", "the body is not valid JSON: " + error.message());
    return false;
  }
  if (!value.is_object()) {
    SetError(response, 400, "malformed_json", "the body must be a JSON object");
    return false;
  }
  *out = std::move(value.as_object());
  return true;
}

struct ApiError {
  int status;
  const char* code;
  std::string message;
};

// Checks one text value, named `what` in messages ("the field 'text'",
// "texts[3]"); on success points `text` at it.
std::optional<ApiError> CheckText(const json::value* value, const std::string& what,
                                  size_t max_length, std::string_view* text) {
  if (value == nullptr) return ApiError{400, "missing_field", what + " is required"};
  if (!value->is_string()) return ApiError{400, "wrong_type", what + " must be a string"};
  const json::string& s = value->as_string();
  *text = std::string_view(s.data(), s.size());
  if (text->find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return ApiError{422, "text_empty", what + " is empty"};
  }
  if (text->size() > max_length) {
    return ApiError{422, "text_too_long",
                    what + " has " + std::to_string(text->size()) + " bytes; the limit is " +
                        std::to_string(max_length)};
  }
  return std::nullopt;
}

// Validates a text field; on failure writes the error response.
bool ReadText(const json::object& body, std::string_view field, size_t max_length,
              HttpResponse* response, std::string_view* text) {
  const std::optional<ApiError> error = CheckText(
      body.if_contains(field), "the field '" + std::string(field) + "'", max_length, text);
  if (error) SetError(response, error->status, error->code, error->message);
  return !error;
}

// "model" names the model that answered: "svm", "bert", or "ensemble" (an
// ensemble in cascade mode answers "svm" when the SVM alone was confident).
json::object PredictionJson(const nlu::IntentPrediction& p, const nlu::IntentClassifier& model) {
  json::array ranking;
  ranking.reserve(p.ranking.size());
  for (const nlu::RankedIntent& r : p.ranking) {
    ranking.push_back(json::object{{"intent", r.intent}, {"confidence", r.confidence}});
  }
  return {{"intent", p.intent},
          {"confidence", p.confidence},
          {"out_of_scope", p.out_of_scope},
          {"ranking", std::move(ranking)},
          {"model", p.model.empty() ? std::string(model.kind()) : p.model},
          {"model_version", model.version()}};
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Whether `principal` may see the session (docs/security.md).
bool MaySee(const security::Principal& principal, const store::SessionSummary& session) {
  return principal.SeesAllSessions() || session.owner == principal.Owner();
}

}  // namespace

void ApiHandler::Parse(const HttpRequest& request, HttpResponse* response) {
  json::object body;
  if (!ReadJsonObject(request, response, &body)) return;
  std::string_view text;
  if (!ReadText(body, "text", static_cast<size_t>(settings_.nlu.max_text_length), response,
                &text)) {
    return;
  }
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");
  const auto started = std::chrono::steady_clock::now();
  const nlu::IntentClassifier& model = snapshot->classifier();
  const nlu::IntentPrediction p = model.Predict(text, static_cast<int>(settings_.nlu.top_k));
  metrics_->ObservePrediction(p.model, "parse", p, SecondsSince(started));
  SetJson(response, 200, PredictionJson(p, model));
}

void ApiHandler::ParseBatch(const HttpRequest& request, HttpResponse* response) {
  json::object body;
  if (!ReadJsonObject(request, response, &body)) return;
  const json::value* texts = body.if_contains("texts");
  if (texts == nullptr || !texts->is_array()) {
    return SetError(response, 400, "wrong_type", "the field 'texts' must be an array of strings");
  }
  const json::array& items = texts->as_array();
  if (items.empty()) return SetError(response, 422, "texts_empty", "'texts' is empty");
  if (items.size() > static_cast<size_t>(settings_.server.max_batch)) {
    return SetError(response, 422, "too_many_texts",
                    "'texts' has " + std::to_string(items.size()) + " entries; the limit is " +
                        std::to_string(settings_.server.max_batch));
  }
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");
  std::vector<std::string> batch;
  batch.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string_view text;
    if (const std::optional<ApiError> error =
            CheckText(&items[i], "texts[" + std::to_string(i) + "]",
                      static_cast<size_t>(settings_.nlu.max_text_length), &text)) {
      return SetError(response, error->status, error->code, error->message);
    }
    batch.emplace_back(text);
  }
  // One batch call: BERT runs the texts as padded batches, not one by one.
  const nlu::IntentClassifier& model = snapshot->classifier();
  const auto started = std::chrono::steady_clock::now();
  const std::vector<nlu::IntentPrediction> predictions =
      model.PredictBatch(batch, static_cast<int>(settings_.nlu.top_k));
  const double seconds_each = SecondsSince(started) / static_cast<double>(batch.size());
  json::array results;
  results.reserve(items.size());
  for (const nlu::IntentPrediction& p : predictions) {
    metrics_->ObservePrediction(p.model, "batch", p, seconds_each);
    results.push_back(PredictionJson(p, model));
  }
  metrics_->ObserveBatch(model.kind(), "request", items.size());
  SetJson(response, 200, json::object{{"results", std::move(results)}});
}

void ApiHandler::Chat(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  json::object body;
  if (!ReadJsonObject(request, response, &body)) return;
  std::string_view message;
  if (!ReadText(body, "message", static_cast<size_t>(settings_.nlu.max_text_length), response,
                &message)) {
    return;
  }
  std::string session_id;
  if (const json::value* id = body.if_contains("session_id"); id && !id->is_null()) {
    if (!id->is_string()) {
      return SetError(response, 400, "wrong_type", "the field 'session_id' must be a string");
    }
    session_id = std::string(id->as_string());
  }
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");

  dialogue::ChatRequest chat{session_id, message, principal.Owner(), principal.SeesAllSessions()};
  const std::optional<dialogue::ChatTurn> result =
      chat_->Reply(chat, {snapshot->classifier(), *snapshot->dialogue});
  if (!result) return SetError(response, 404, "session_not_found", "no session " + session_id);
  if (result->new_session) metrics_->SessionCreated();
  const nlu::IntentPrediction& prediction = result->prediction;
  metrics_->ObservePrediction(prediction.model, "chat", prediction, result->predict_seconds);
  const dialogue::DialogueReply& reply = result->reply;
  metrics_->ObserveChatReply(dialogue::ReplyKind(reply));
  const store::Turn& turn = result->stored;

  json::object out{{"session_id", result->session_id},
                   {"reply", reply.reply},
                   {"intent", reply.intent},
                   {"confidence", reply.confidence},
                   {"out_of_scope", reply.out_of_scope},
                   {"model", turn.model},
                   {"model_version", turn.model_version},
                   {"turn", turn.number}};
  if (reply.clarification) {
    out["clarification"] = true;
    out["choices"] = json::array(reply.choices.begin(), reply.choices.end());
  }
  out["notice"] = NoticeJson();
  SetJson(response, 200, out);
}

void ApiHandler::ListSessions(const HttpRequest& request, const security::Principal& principal,
                              HttpResponse* response) {
  int64_t limit = 20;
  if (auto value = QueryParameter(request.query, "limit")) {
    if (!ParseInteger(*value, &limit) || limit < 1 || limit > 1000) {
      return SetError(response, 400, "bad_parameter", "limit must be an integer from 1 to 1000");
    }
  }
  store::SessionQuery query;
  query.limit = static_cast<int>(limit);
  if (!principal.SeesAllSessions()) query.owner = principal.Owner();
  // Times in milliseconds since the epoch.
  for (const auto& [name, field] :
       {std::pair{"before", &query.before_ms}, std::pair{"since", &query.active_since_ms},
        std::pair{"until", &query.active_until_ms}}) {
    if (auto value = QueryParameter(request.query, name)) {
      int64_t ms = 0;
      if (!ParseInteger(*value, &ms)) {
        return SetError(response, 400, "bad_parameter",
                        std::string(name) + " must be a time in milliseconds since the epoch");
      }
      *field = ms;
    }
  }
  if (auto value = QueryParameter(request.query, "q")) query.text = std::move(*value);
  if (auto value = QueryParameter(request.query, "intent")) query.intent = std::move(*value);
  // Characters, not bytes: UTF-8 continuation bytes do not count.
  const size_t characters = static_cast<size_t>(std::count_if(
      query.text.begin(), query.text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  if (characters > static_cast<size_t>(settings_.sessions.search_max_chars)) {
    return SetError(response, 400, "bad_parameter",
                    "q has " + std::to_string(characters) + " characters; the limit is " +
                        std::to_string(settings_.sessions.search_max_chars));
  }
  query.time_budget_ms = settings_.sessions.search_timeout_ms;
  const bool searching = !query.text.empty() || !query.intent.empty() || query.active_since_ms ||
                         query.active_until_ms;
  const std::vector<store::SessionSummary> page =
      searching ? sessions_->FindSessions(query)
                : sessions_->ListSessions(query.limit, query.before_ms, query.owner);
  json::array items;
  for (const store::SessionSummary& s : page) items.push_back(SummaryJson(s));
  json::object out{{"sessions", std::move(items)}};
  // The next page: sessions created before the last one listed.
  if (static_cast<int64_t>(page.size()) == limit) {
    out["next_before"] = page.back().created_at_ms;
  } else {
    out["next_before"] = nullptr;
  }
  SetJson(response, 200, out);
}

void ApiHandler::GetSession(const std::string& id, const security::Principal& principal,
                            HttpResponse* response) {
  const std::optional<store::Session> session = sessions_->GetSession(id, true);
  if (!session || !MaySee(principal, session->summary)) {
    return SetError(response, 404, "session_not_found", "no session " + id);
  }
  json::object out = SummaryJson(session->summary);
  json::array turns;
  for (const store::Turn& t : session->turns) turns.push_back(TurnJson(t));
  out["turns"] = std::move(turns);
  out["turn_count"] = session->summary.turn_count;
  SetJson(response, 200, out);
}

void ApiHandler::DeleteSession(const std::string& id, const security::Principal& principal,
                               HttpResponse* response) {
  std::lock_guard lock(SessionLock(id));
  if (!principal.SeesAllSessions()) {
    const std::optional<store::Session> session = sessions_->GetSession(id, false);
    if (!session || !MaySee(principal, session->summary)) {
      return SetError(response, 404, "session_not_found", "no session " + id);
    }
  }
  if (!sessions_->DeleteSession(id)) {
    return SetError(response, 404, "session_not_found", "no session " + id);
  }
  metrics_->SessionsDeleted("api", 1);
  SetJson(response, 200, json::object{{"deleted", id}});
}

}  // namespace chatbot::server
