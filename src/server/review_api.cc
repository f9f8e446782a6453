#include "server/review_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <optional>
#include <set>
#include <utility>

#include "common/time.h"
#include "nlu/training_data.h"
#include "server/json_response.h"
#include "server/query_string.h"
#include "server/request_bodies.h"
#include "server/session_json.h"

namespace chatbot::server {
namespace json = boost::json;
namespace {

constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;
// Without `since` or `days`, the list covers this many days.
constexpr int64_t kDefaultDays = 7;
constexpr double kDefaultBelowConfidence = 0.5;
constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;
constexpr std::string_view kLabelsPath = "/v1/review/labels";

json::object LabelJson(const store::TurnLabel& label) {
  return {{"session_id", label.session_id},
          {"turn", label.turn},
          {"text", label.text},
          {"intent", label.intent},
          {"predicted_intent", label.predicted_intent},
          {"labelled_by", label.labelled_by},
          {"labelled_at_ms", label.labelled_at_ms}};
}

json::object ItemJson(const store::ReviewItem& item) {
  json::object out = TurnJson(item.turn);
  out["session_id"] = item.session_id;
  if (item.label) {
    out["label"] = {{"intent", item.label->intent},
                    {"labelled_by", item.label->labelled_by},
                    {"labelled_at_ms", item.label->labelled_at_ms}};
  } else {
    out["label"] = nullptr;
  }
  return out;
}

// The paging cursor: "RECEIVED_MS:TURN:SESSION_ID" of the last item listed.
std::string CursorText(const store::ReviewItem& item) {
  return std::to_string(item.turn.received_at_ms) + ":" + std::to_string(item.turn.number) + ":" +
         item.session_id;
}

std::optional<store::ReviewQuery::Cursor> ParseCursor(std::string_view text) {
  const size_t first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  store::ReviewQuery::Cursor cursor;
  if (!ParseInteger(text.substr(0, first), &cursor.received_at_ms) ||
      !ParseInteger(text.substr(first + 1, second - first - 1), &cursor.turn)) {
    return std::nullopt;
  }
  cursor.session_id = std::string(text.substr(second + 1));
  return cursor;
}

// The intents a label may name: the answering model's, and out of scope.
std::set<std::string> KnownIntents(const ModelSnapshot* snapshot) {
  std::set<std::string> intents{nlu::kOutOfScopeLabel};
  if (snapshot != nullptr) {
    const auto& labels = snapshot->classifier().labels();
    intents.insert(labels.begin(), labels.end());
  }
  return intents;
}

// `since` (Unix ms) or `days` back from now; false (with the 400 written)
// when malformed.
bool ReadSince(const HttpRequest& request, int64_t* since_ms, HttpResponse* response) {
  const std::optional<std::string> since = QueryParameter(request.query, "since");
  const std::optional<std::string> days = QueryParameter(request.query, "days");
  if (since && days) {
    SetError(response, 400, "bad_parameter", "give either since or days, not both");
    return false;
  }
  if (since) {
    if (!ParseInteger(*since, since_ms) || *since_ms < 0) {
      SetError(response, 400, "bad_parameter",
               "since must be a time in milliseconds since the epoch");
      return false;
    }
    return true;
  }
  int64_t n = kDefaultDays;
  if (days && (!ParseInteger(*days, &n) || n < 1 || n > 3650)) {
    SetError(response, 400, "bad_parameter", "days must be an integer from 1 to 3650");
    return false;
  }
  *since_ms = NowMs() - n * kDayMs;
  return true;
}

}  // namespace

std::string LabelsAsTrainingData(const std::vector<store::TurnLabel>& labels, size_t* written) {
  // A text labelled the same way twice (the same question in two sessions)
  // is one example.
  std::set<std::pair<std::string_view, std::string_view>> seen;
  std::string out;
  for (const store::TurnLabel& label : labels) {
    if (!seen.emplace(label.text, label.intent).second) continue;
    out += json::serialize(json::object{{"text", label.text}, {"intent", label.intent}});
    out += '\n';
  }
  if (written != nullptr) *written = seen.size();
  return out;
}

ReviewApi::ReviewApi(store::SessionStore* sessions, ModelRegistry* models)
    : sessions_(sessions), models_(models) {}

void ReviewApi::Handle(const HttpRequest& request, const security::Principal& principal,
                       HttpResponse* response) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/v1/review") {
    if (method != "GET") return MethodNotAllowed(response, "GET");
    return List(request, response);
  }
  if (path == kLabelsPath) {
    if (method != "POST") return MethodNotAllowed(response, "POST");
    return Label(request, principal, response);
  }
  if (path.size() > kLabelsPath.size() + 1 && path.starts_with(kLabelsPath) &&
      path[kLabelsPath.size()] == '/') {
    if (method != "DELETE") return MethodNotAllowed(response, "DELETE");
    return Unlabel(path.substr(kLabelsPath.size() + 1), response);
  }
  if (path == "/v1/review/export") {
    if (method != "GET") return MethodNotAllowed(response, "GET");
    return Export(request, response);
  }
  SetError(response, 404, "not_found", "no resource at " + path);
}

void ReviewApi::List(const HttpRequest& request, HttpResponse* response) {
  store::ReviewQuery query;
  if (!ReadSince(request, &query.since_ms, response)) return;
  query.below_confidence = kDefaultBelowConfidence;
  if (auto value = QueryParameter(request.query, "below")) {
    if (!ParseNumber(*value, &query.below_confidence) || query.below_confidence < 0 ||
        query.below_confidence > 1) {
      return SetError(response, 400, "bad_parameter", "below must be a number from 0 to 1");
    }
  }
  if (auto value = QueryParameter(request.query, "status")) {
    if (*value == "all") {
      query.status = store::ReviewQuery::Status::kAll;
    } else if (*value == "unlabelled") {
      query.status = store::ReviewQuery::Status::kUnlabelled;
    } else if (*value == "labelled") {
      query.status = store::ReviewQuery::Status::kLabelled;
    } else {
      return SetError(response, 400, "bad_parameter", "status must be all, unlabelled or labelled");
    }
  }
  int64_t limit = kDefaultLimit;
  if (auto value = QueryParameter(request.query, "limit")) {
    if (!ParseInteger(*value, &limit) || limit < 1 || limit > kMaxLimit) {
      return SetError(response, 400, "bad_parameter", "limit must be an integer from 1 to 1000");
    }
  }
  query.limit = static_cast<int>(limit);
  if (auto value = QueryParameter(request.query, "before")) {
    query.before = ParseCursor(*value);
    if (!query.before) {
      return SetError(response, 400, "bad_parameter",
                      "before must be the next_before of a previous page");
    }
  }
  const std::vector<store::ReviewItem> items = sessions_->FindTurnsForReview(query);
  json::array listed;
  listed.reserve(items.size());
  for (const store::ReviewItem& item : items) listed.push_back(ItemJson(item));
  const std::set<std::string> intents = KnownIntents(models_->Current().get());
  json::object out{{"items", std::move(listed)},
                   {"since_ms", query.since_ms},
                   {"below", query.below_confidence},
                   {"intents", json::array(intents.begin(), intents.end())}};
  if (static_cast<int64_t>(items.size()) == limit) {
    out["next_before"] = CursorText(items.back());
  } else {
    out["next_before"] = nullptr;
  }
  SetJson(response, 200, out);
}

void ReviewApi::Label(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  LabelBody body;
  try {
    body = ReadLabelBody(request);
  } catch (const BodyError& e) {
    return SetError(response, e.status, e.code, e.message);
  }
  const std::string& name = body.intent;
  const std::set<std::string> intents = KnownIntents(models_->Current().get());
  if (!intents.contains(name)) {
    return SetError(response, 422, "unknown_intent",
                    "'" + name + "' is not an intent of the model (" +
                        std::to_string(intents.size()) +
                        " intents, 'oos' included); a new intent is added to the training data");
  }
  const std::string& id = body.session_id;
  const std::optional<store::TurnLabel> label =
      sessions_->LabelTurn(id, body.turn, name, principal.Owner(), NowMs());
  if (!label) {
    return SetError(response, 404, "turn_not_found",
                    "no turn " + std::to_string(body.turn) + " in session " + id);
  }
  SetJson(response, 200, LabelJson(*label));
}

void ReviewApi::Unlabel(const std::string& target, HttpResponse* response) {
  // /v1/review/labels/SESSION_ID/TURN
  const size_t slash = target.rfind('/');
  int64_t turn = 0;
  if (slash == std::string::npos || slash == 0 ||
      !ParseInteger(std::string_view(target).substr(slash + 1), &turn)) {
    return SetError(
        response, 404, "not_found",
        "no resource at /v1/review/labels/" + target + " (use /v1/review/labels/SESSION_ID/TURN)");
  }
  const std::string id = target.substr(0, slash);
  if (!sessions_->DeleteLabel(id, turn)) {
    return SetError(response, 404, "label_not_found",
                    "turn " + std::to_string(turn) + " of session " + id + " has no label");
  }
  SetJson(response, 200, json::object{{"deleted", {{"session_id", id}, {"turn", turn}}}});
}

void ReviewApi::Export(const HttpRequest& request, HttpResponse* response) {
  int64_t since_ms = 0;
  if (QueryParameter(request.query, "since") || QueryParameter(request.query, "days")) {
    if (!ReadSince(request, &since_ms, response)) return;
  }
  size_t written = 0;
  std::string out = LabelsAsTrainingData(sessions_->ListLabels(since_ms), &written);
  const std::string date = FormatUtc(std::time(nullptr), "%Y-%m-%d");
  response->status = 200;
  response->content_type = "application/x-ndjson";
  response->body = std::move(out);
  response->headers.emplace_back(
      "Content-Disposition", std::string("attachment; filename=\"reviewed-") + date + ".jsonl\"");
}

}  // namespace chatbot::server
