// ApiHandler's routes that classify and converse (api_handler.h):
// /v1/parse, /v1/parse/batch, /v1/chat and /v1/sessions; their JSON bodies
// are read by server/request_bodies.h. Routing, security, health, the bot
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
#include "server/request_bodies.h"
#include "server/session_json.h"

namespace chatbot::server {
namespace json = boost::json;

namespace {

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
  ParseBody body;
  try {
    body = ReadParseBody(request, static_cast<size_t>(settings_.nlu.max_text_length));
  } catch (const BodyError& e) {
    return SetError(response, e.status, e.code, e.message);
  }
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");
  const auto started = std::chrono::steady_clock::now();
  const nlu::IntentClassifier& model = snapshot->classifier();
  const nlu::IntentPrediction p = model.Predict(body.text, static_cast<int>(settings_.nlu.top_k));
  metrics_->ObservePrediction(p.model, "parse", p, SecondsSince(started));
  SetJson(response, 200, PredictionJson(p, model));
}

void ApiHandler::ParseBatch(const HttpRequest& request, HttpResponse* response) {
  std::vector<std::string> batch;
  try {
    batch = ReadParseBatchBody(request, static_cast<size_t>(settings_.nlu.max_text_length),
                               static_cast<size_t>(settings_.server.max_batch))
                .texts;
  } catch (const BodyError& e) {
    return SetError(response, e.status, e.code, e.message);
  }
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");
  // One batch call: BERT runs the texts as padded batches, not one by one.
  const nlu::IntentClassifier& model = snapshot->classifier();
  const auto started = std::chrono::steady_clock::now();
  const std::vector<nlu::IntentPrediction> predictions =
      model.PredictBatch(batch, static_cast<int>(settings_.nlu.top_k));
  const double seconds_each = SecondsSince(started) / static_cast<double>(batch.size());
  json::array results;
  results.reserve(batch.size());
  for (const nlu::IntentPrediction& p : predictions) {
    metrics_->ObservePrediction(p.model, "batch", p, seconds_each);
    results.push_back(PredictionJson(p, model));
  }
  metrics_->ObserveBatch(model.kind(), "request", batch.size());
  SetJson(response, 200, json::object{{"results", std::move(results)}});
}

void ApiHandler::Chat(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  ChatBody body;
  try {
    body = ReadChatBody(request, static_cast<size_t>(settings_.nlu.max_text_length));
  } catch (const BodyError& e) {
    return SetError(response, e.status, e.code, e.message);
  }
  const std::string& session_id = body.session_id;
  const auto snapshot = models_->Current();
  if (!snapshot) return SetError(response, 503, "no_model", "no model is loaded");

  dialogue::ChatRequest chat{session_id, body.message, principal.Owner(),
                             principal.SeesAllSessions()};
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
