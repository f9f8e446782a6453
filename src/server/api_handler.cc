#include "server/api_handler.h"

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
#include "server/compression.h"
#include "server/expensive_requests.h"
#include "server/json_response.h"
#include "server/model_accuracy_metrics.h"
#include "server/query_string.h"
#include "server/session_json.h"

namespace chatbot::server {
namespace json = boost::json;

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

ApiHandler::ApiHandler(const Settings& settings, ModelRegistry* models,
                       store::SessionStore* sessions)
    : settings_(settings),
      models_(models),
      sessions_(sessions),
      started_(std::chrono::steady_clock::now()),
      chat_(
          std::make_unique<dialogue::ChatService>(sessions, static_cast<int>(settings.nlu.top_k))),
      review_(std::make_unique<ReviewApi>(sessions, models)) {
  if (settings_.web.enabled) {
    StaticFilesOptions options;
    options.root = StaticFiles::ResolveRoot(settings_.web.root, CHATBOT_SOURCE_DIR);
    options.frame_ancestors = settings_.web.frame_ancestors;
    options.compress_min_bytes = static_cast<size_t>(settings_.web.compress_min_bytes);
    try {
      static_files_ = std::make_unique<StaticFiles>(std::move(options));
    } catch (const Error& e) {
      // The API works without its pages: say why they are missing, and go on.
      AppLog()->warn("the web pages are not served: {}", e.what());
    }
  }
  if (sessions_ != nullptr) {
    AddModelAccuracyCollector(&metrics_->registry(), settings_, models_, sessions_);
  }
}

void ApiHandler::EnableSecurity(security::AccessControl* access, std::string config_text,
                                ops::NoticeBoard* notices) {
  access_ = access;
  notices_ = notices;
  admin_ = std::make_unique<AdminApi>(access, std::move(config_text), notices);
}

json::value ApiHandler::NoticeJson() const {
  const std::string text = notices_ != nullptr ? notices_->Text() : settings_.bot.notice;
  if (text.empty()) return nullptr;
  return json::string(text);
}

void ApiHandler::AddNoticeToRefusal(HttpResponse* response) const {
  if (response->status != 503 || response->content_type != "application/json") return;
  json::value notice = NoticeJson();
  if (notice.is_null()) return;
  boost::system::error_code error;
  json::value body = json::parse(response->body, error);
  if (error || !body.is_object() || body.as_object().contains("notice")) return;
  body.as_object()["notice"] = std::move(notice);
  response->body = json::serialize(body);
}

bool ApiHandler::Admit(const HttpRequest& request, HttpResponse* response,
                       security::Principal* principal) {
  if (access_ == nullptr) {
    principal->role = security::Role::kOperator;
    return true;
  }
  security::AccessRequest access_request;
  access_request.method = request.method;
  access_request.path = request.path;
  access_request.expensive = IsExpensiveRequest(request);
  access_request.headers = &request.headers;
  access_request.peer = security::IpAddress(request.peer_ip);
  thread_local security::Refusal refusal;
  if (access_->Admit(access_request, principal, &refusal)) return true;
  SetError(response, refusal.status, refusal.code, refusal.message);
  for (auto& header : refusal.headers) response->headers.push_back(std::move(header));
  return false;
}

std::mutex& ApiHandler::SessionLock(const std::string& id) {
  return chat_->SessionLock(id);
}

bool ApiHandler::Cors(const HttpRequest& request, HttpResponse* response, bool preflight) const {
  const std::string_view origin = request.Header("origin");
  // The widget posts turns and reads the welcome with its notice.
  if (origin.empty() || (request.path != "/v1/chat" && request.path != "/v1/bot")) return false;
  const auto& allowed = settings_.web.widget_origins;
  if (std::find(allowed.begin(), allowed.end(), "*") == allowed.end() &&
      std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) {
    return false;
  }
  response->headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response->headers.emplace_back("Vary", "Origin");
  if (!preflight) return false;
  response->status = 204;
  response->content_type.clear();
  response->body.clear();
  response->headers.emplace_back("Access-Control-Allow-Methods", "GET, POST");
  response->headers.emplace_back("Access-Control-Allow-Headers", "Content-Type, Authorization");
  response->headers.emplace_back("Access-Control-Max-Age", "600");
  return true;
}

void ApiHandler::Handle(const HttpRequest& request, HttpResponse* response) {
  // The widget's preflight carries no key: answered before the security
  // pipeline, which the POST that follows goes through as any request.
  if (!settings_.web.widget_origins.empty() && request.method == "OPTIONS" &&
      Cors(request, response, /*preflight=*/true)) {
    return;
  }
  Route(request, response);
  AddNoticeToRefusal(response);
  if (!settings_.web.widget_origins.empty()) Cors(request, response, /*preflight=*/false);
  // Large JSON bodies (session transcripts, batches, key lists) gzipped when
  // accepted; the web pages come precompressed.
  if (settings_.web.enabled &&
      (response->content_type == "application/json" ||
       response->content_type == "application/x-ndjson") &&
      response->body.size() >= static_cast<size_t>(settings_.web.compress_min_bytes)) {
    try {
      CompressResponse(request, static_cast<size_t>(settings_.web.compress_min_bytes), response);
    } catch (const Error& e) {
      AppLog()->error("request {}: {}", request.request_id, e.what());
    }
  }
}

void ApiHandler::Route(const HttpRequest& request, HttpResponse* response) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  const ServiceMetrics::InFlight in_flight(*metrics_);
  try {
    security::Principal principal;
    if (!Admit(request, response, &principal)) return;
    if (path == "/v1/parse") {
      if (method != "POST") return MethodNotAllowed(response, "POST");
      return Parse(request, response);
    }
    if (path == "/v1/chat") {
      if (method != "POST") return MethodNotAllowed(response, "POST");
      return Chat(request, principal, response);
    }
    if (path == "/v1/parse/batch") {
      if (method != "POST") return MethodNotAllowed(response, "POST");
      return ParseBatch(request, response);
    }
    if (path == "/health" || path == "/ready") {
      if (method != "GET" && method != "HEAD") return MethodNotAllowed(response, "GET, HEAD");
      return Health(request, response, path == "/ready");
    }
    if (path == "/v1/bot") {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return Bot(response);
    }
    if (path == "/v1/sessions") {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return ListSessions(request, principal, response);
    }
    constexpr std::string_view kSessionPrefix = "/v1/sessions/";
    if (path.size() > kSessionPrefix.size() && path.starts_with(kSessionPrefix) &&
        path.find('/', kSessionPrefix.size()) == std::string::npos) {
      const std::string id = path.substr(kSessionPrefix.size());
      if (method == "GET") return GetSession(id, principal, response);
      if (method == "DELETE") return DeleteSession(id, principal, response);
      return MethodNotAllowed(response, "GET, DELETE");
    }
    if (path == "/v1/model") {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return Model(response);
    }
    if (path == "/v1/model/reload") {
      if (method != "POST") return MethodNotAllowed(response, "POST");
      return ReloadModel(response);
    }
    if (path == "/metrics") {
      if (method != "GET") return MethodNotAllowed(response, "GET");
      return metrics_->Render(response);
    }
    if (path == "/v1/review" || path.starts_with("/v1/review/")) {
      return review_->Handle(request, principal, response);
    }
    if (admin_ != nullptr && (path == "/v1/admin" || path.starts_with("/v1/admin/"))) {
      return admin_->Handle(request, principal, response);
    }
    if (static_files_ != nullptr && StaticFiles::IsWebPath(path)) {
      return static_files_->Serve(request, response);
    }
    SetError(response, 404, "not_found", "no resource at " + path);
  } catch (const store::SearchTimeout& e) {
    AppLog()->warn("request {}: {}", request.request_id, e.what());
    SetError(response, 503, "search_timeout",
             "the search took longer than " + std::to_string(settings_.sessions.search_timeout_ms) +
                 " ms; narrow it with since, until or intent");
    response->headers.emplace_back("Retry-After", "5");
  } catch (const StoreFull& e) {
    AppLog()->error("request {}: storage full: {}", request.request_id, e.what());
    SetError(response, 503, "storage_full",
             "the disk holding session storage is full; try again later");
    response->headers.emplace_back("Retry-After", "30");
  } catch (const StoreError& e) {
    AppLog()->error("request {}: storage error: {}", request.request_id, e.what());
    SetError(response, 503, "storage_unavailable", "session storage is unavailable; try again");
    response->headers.emplace_back("Retry-After", "5");
  } catch (const std::exception& e) {
    // A bug: the details go to the log, never to the client.
    AppLog()->error("request {} {} {}: {}", request.request_id, request.method, request.path,
                    WithoutSourceLocation(e.what()));
    response->headers.clear();
    SetError(response, 500, "internal", "internal error (request " + request.request_id + ")");
  }
}

void ApiHandler::Health(const HttpRequest& request, HttpResponse* response, bool readiness) {
  const auto snapshot = models_->Current();
  std::string storage_reason;
  const bool storage_ok = sessions_->CheckHealth(&storage_reason);
  // Public: states only. What is wrong (with file names) is in the app log
  // and, for the model, at the operator-only GET /v1/model.
  std::string reason;
  const std::string model_state = models_->State();
  if (!snapshot) {
    reason = "no model is loaded";
  } else if (!storage_ok) {
    AppLog()->warn("health: session storage is unavailable: {}", storage_reason);
    reason = settings_.store.backend == "postgres"
                 ? "session storage is unavailable: the PostgreSQL database does not answer"
                 : "session storage is unavailable";
  } else if (readiness && !ready_) {
    reason = "starting";
  }
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  json::object body{{"status", reason.empty() ? "ok" : "unavailable"},
                    {"version", kVersion},
                    {"uptime_s", uptime}};
  if (!reason.empty()) body["reason"] = reason;
  body["model"] = model_state;
  json::object models;
  if (snapshot) {
    for (const nlu::IntentClassifier* model : snapshot->Parts()) {
      models[model->kind()] = {{"version", model->version()},
                               {"loaded_at", snapshot->loaded_at},
                               {"labels", model->labels().size()}};
    }
    body["answering_model"] = snapshot->models.kind;
  }
  body["models"] = std::move(models);
  body["storage"] = storage_ok ? "ok" : "unavailable";
  // Which dependency is down, by name, for operators and load balancers.
  body["dependencies"] = {
      {"database", {{"kind", settings_.store.backend}, {"state", body["storage"]}}}};
  body["notice"] = NoticeJson();
  // Lockdown: unavailable to everyone but admins, so load balancers drain.
  bool locked = false;
  if (access_ != nullptr) {
    const security::LockdownState lockdown = access_->lockdown();
    locked = lockdown.on;
    body["lockdown"] = security::LockdownToJson(lockdown, /*with_actor=*/false);
    if (locked && reason.empty()) {
      body["status"] = "lockdown";
      body["reason"] = "in lockdown: only requests with an admin key are served";
    }
  }
  SetJson(response, reason.empty() && !locked ? 200 : 503, body);
  if (request.method == "HEAD") response->body.clear();
}

void ApiHandler::Bot(HttpResponse* response) {
  const auto snapshot = models_->Current();
  // Without a model the name and notice are still known; the greeting and
  // suggestions come with the domain data. The notice is the operator's
  // when one is set ([bot] notice otherwise).
  dialogue::BotProfile profile;
  if (snapshot) {
    profile = snapshot->bot;
  } else {
    profile.name = settings_.bot.name;
  }
  const json::value notice = NoticeJson();
  profile.notice = notice.is_null() ? "" : std::string(notice.as_string());
  SetJson(response, 200, dialogue::BotProfileJson(profile));
}

void ApiHandler::Model(HttpResponse* response) {
  const auto snapshot = models_->Current();
  if (!snapshot) {
    const std::string why = models_->last_error();
    SetError(response, 503, "no_model", "no model is loaded" + (why.empty() ? "" : ": " + why));
    response->headers.emplace_back("Retry-After", "10");
    return;
  }
  // "directory" is the folder under the models root ("model/svm"), never
  // the machine's absolute path (docs/security.md, "What answers show").
  json::object models;
  const auto describe = [&](const nlu::IntentClassifier& model, const json::object& manifest,
                            json::object info) {
    info["kind"] = model.kind();
    info["version"] = model.version();
    info["loaded_at"] = snapshot->loaded_at;
    info["labels"] = json::array(model.labels().begin(), model.labels().end());
    info["oos_threshold"] = model.out_of_scope_threshold();
    for (const char* key :
         {"created_at", "heldout_metrics", "hyperparameters", "training_data", "architecture"}) {
      if (const json::value* v = manifest.if_contains(key)) info[key] = *v;
    }
    models[model.kind()] = std::move(info);
  };
  if (const auto& svm = snapshot->models.svm) {
    describe(*svm, svm->manifest(),
             {{"directory", (snapshot->directory.filename() / nlu::kSvmDirectory).string()},
              {"features", svm->num_features()},
              {"temperature", svm->temperature()}});
  }
  if (const auto& bert = snapshot->models.bert) {
    describe(*bert, bert->manifest(),
             {{"directory", (snapshot->directory.filename() / nlu::kBertDirectory).string()},
              {"temperature", bert->temperature()},
              {"precision", bert::PrecisionName(snapshot->precision)}});
  }
  json::object body{{"answering_model", snapshot->models.kind}, {"models", std::move(models)}};
  if (const auto& ensemble = snapshot->models.ensemble) {
    body["ensemble"] = {{"mode", nlu::EnsembleModeName(ensemble->options().mode)},
                        {"svm_weight", ensemble->options().svm_weight},
                        {"oos_threshold", ensemble->options().oos_threshold},
                        {"cascade_threshold", ensemble->options().cascade_threshold}};
  }
  SetJson(response, 200, body);
}

void ApiHandler::ReloadModel(HttpResponse* response) {
  try {
    models_->Reload();
  } catch (const Error& e) {
    const auto snapshot = models_->Current();
    return SetError(
        response, 422, "model_refused",
        std::string("the model on disk was refused; ") +
            (snapshot ? "still serving " + snapshot->classifier().version() : "none loaded") +
            ": " + e.what());
  }
  const auto snapshot = models_->Current();
  json::object models;
  for (const nlu::IntentClassifier* model : snapshot->Parts()) {
    models[model->kind()] = {{"version", model->version()}, {"loaded_at", snapshot->loaded_at}};
  }
  SetJson(response, 200,
          json::object{{"status", "reloaded"},
                       {"answering_model", snapshot->models.kind},
                       {"models", std::move(models)}});
}

}  // namespace chatbot::server
