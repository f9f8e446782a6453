// The HTTP API (docs/api.md): routes requests to the model, the chat use
// case (dialogue/chat_service.h) and the session store, and shapes every error the same way:
//   {"error": {"code": "...", "message": "..."}}
// Routing, security, health and the model routes are in api_handler.cc;
// parse, chat and sessions in api_chat_routes.cc.
#ifndef CHATBOT_SERVER_API_HANDLER_H_
#define CHATBOT_SERVER_API_HANDLER_H_

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/config.h"
#include "dialogue/chat_service.h"
#include "ops/notice_board.h"
#include "security/access_control.h"
#include "server/admin_api.h"
#include "server/http_types.h"
#include "server/model_registry.h"
#include "server/review_api.h"
#include "server/service_metrics.h"
#include "server/static_files.h"
#include "store/session_store.h"

namespace chatbot::server {

class ApiHandler final : public HttpHandler {
 public:
  ApiHandler(const Settings& settings, ModelRegistry* models, store::SessionStore* sessions);

  void Handle(const HttpRequest& request, HttpResponse* response) override;

  // For /health: set once the server listens.
  void set_ready(bool ready) { ready_ = ready; }

  // Puts every request through `access` (docs/security.md) before routing,
  // and serves the admin API; `config_text` is what GET /v1/admin/config
  // shows. Without it (tests of the API alone) every request is served as
  // an operator would be. `notices` (not owned; may be null) is the service
  // notice the responses carry and the admin API sets; without it the
  // notice is [bot] notice. Call before the server starts.
  void EnableSecurity(security::AccessControl* access, std::string config_text,
                      ops::NoticeBoard* notices = nullptr);

  // Serves GET /v1/admin/cluster from `cluster` (not owned); after
  // EnableSecurity, before the server starts.
  void EnableCluster(ClusterSync* cluster) {
    if (admin_) admin_->set_cluster(cluster);
  }

  // What GET /metrics shows; the owner adds its collectors and records the
  // finished requests (HttpServerOptions::on_response) here.
  ServiceMetrics& metrics() { return *metrics_; }

 private:
  // The routes; Handle() adds the compression of large JSON bodies.
  void Route(const HttpRequest& request, HttpResponse* response);
  // CORS for the widget on other sites ([web] widget_origins): answers the
  // preflight of POST /v1/chat and GET /v1/bot (true), or adds the allowing
  // headers.
  bool Cors(const HttpRequest& request, HttpResponse* response, bool preflight) const;
  void Health(const HttpRequest& request, HttpResponse* response, bool readiness);
  void Parse(const HttpRequest& request, HttpResponse* response);
  void ParseBatch(const HttpRequest& request, HttpResponse* response);
  // Sessions belong to the principal that created them: clients reach only
  // their own (others' are "not found"), operators and admins every one.
  void Chat(const HttpRequest& request, const security::Principal& principal,
            HttpResponse* response);
  // Lists sessions, newest first; with q, intent, since or until, searches
  // them (store::SessionQuery).
  void ListSessions(const HttpRequest& request, const security::Principal& principal,
                    HttpResponse* response);
  void GetSession(const std::string& id, const security::Principal& principal,
                  HttpResponse* response);
  void DeleteSession(const std::string& id, const security::Principal& principal,
                     HttpResponse* response);
  void Model(HttpResponse* response);
  // GET /v1/bot: the welcome of the chat pages (dialogue/bot_profile.h).
  void Bot(HttpResponse* response);
  void ReloadModel(HttpResponse* response);

  // Turns (and deletion) of one session happen one at a time
  // (dialogue::ChatService::SessionLock).
  std::mutex& SessionLock(const std::string& id);

  // The service notice users see now: its text, or null when there is none.
  // /health, chat replies and every 503 carry it (docs/api.md, "Service
  // notice").
  boost::json::value NoticeJson() const;
  // Adds "notice" to a 503's JSON body: during a lockdown or an outage the
  // refusal is what users see.
  void AddNoticeToRefusal(HttpResponse* response) const;

  // The security pipeline; false when `response` holds the refusal.
  bool Admit(const HttpRequest& request, HttpResponse* response, security::Principal* principal);

  Settings settings_;
  ModelRegistry* models_;
  store::SessionStore* sessions_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> ready_{false};
  // The chat turn itself (POST /v1/chat), shared with `chatbot chat`.
  std::unique_ptr<dialogue::ChatService> chat_;
  security::AccessControl* access_ = nullptr;
  ops::NoticeBoard* notices_ = nullptr;
  std::unique_ptr<AdminApi> admin_;
  std::unique_ptr<ReviewApi> review_;
  std::unique_ptr<ServiceMetrics> metrics_ = std::make_unique<ServiceMetrics>();
  // The web pages ([web], docs/web.md); null when disabled or not found.
  std::unique_ptr<StaticFiles> static_files_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_API_HANDLER_H_
