// The admin API under /v1/admin (docs/api.md, "Admin"): API keys, the
// lockdown, the service notice, the effective configuration and the cluster's
// instances. The same operations as
// `chatbot keys` and `chatbot lockdown`, audited with the calling key as the
// actor. ApiHandler routes here after the pipeline admitted an admin.
#ifndef CHATBOT_SERVER_ADMIN_API_H_
#define CHATBOT_SERVER_ADMIN_API_H_

#include <atomic>
#include <string>

#include "ops/notice_board.h"
#include "security/access_control.h"
#include "server/http_types.h"

namespace chatbot::server {

class ClusterSync;

class AdminApi {
 public:
  // `access` is not owned. `config_text`: what GET /v1/admin/config shows
  // (Configuration::Describe()). `notices` (not owned) may be null: then
  // /v1/admin/notice is not found.
  AdminApi(security::AccessControl* access, std::string config_text, ops::NoticeBoard* notices);

  // GET /v1/admin/cluster lists `cluster`'s instances (not owned); without
  // one it is 404.
  void set_cluster(ClusterSync* cluster) { cluster_.store(cluster); }

  // Answers a request whose path starts with /v1/admin.
  void Handle(const HttpRequest& request, const security::Principal& principal,
              HttpResponse* response);

 private:
  void ListKeys(HttpResponse* response);
  void CreateKey(const HttpRequest& request, const security::Principal& principal,
                 HttpResponse* response);
  void KeyRoute(const HttpRequest& request, const security::Principal& principal,
                const std::string& id, const std::string& action, HttpResponse* response);
  void Lockdown(const HttpRequest& request, const security::Principal& principal,
                HttpResponse* response);

  void Notice(const HttpRequest& request, const security::Principal& principal,
              HttpResponse* response);

  security::AccessControl* access_;
  ops::NoticeBoard* notices_;
  std::string config_text_;
  // Set once the server listens (the address names its port).
  std::atomic<ClusterSync*> cluster_{nullptr};
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_ADMIN_API_H_
