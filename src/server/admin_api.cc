#include "server/admin_api.h"

#include <boost/json.hpp>
#include <stdexcept>

#include "common/error.h"
#include "common/logging.h"
#include "ops/notice_admin.h"
#include "security/key_json.h"
#include "server/cluster_sync.h"
#include "server/json_response.h"
#include "server/request_bodies.h"

namespace chatbot::server {
namespace json = boost::json;
using security::KeyError;

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
  } catch (const BodyError& e) {
    SetError(response, e.status, e.code, e.message);
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
  const security::NewKey key = ReadNewKeyBody(request);
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
    const int64_t grace = ReadRotateBody(request);
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
  const security::KeyChange change = ReadKeyChangeBody(request);
  const security::KeyRecord record = access_->UpdateKey(id, change, actor);
  SetJson(response, 200, security::KeyToJson(record, access_->EffectiveLimit(record), now));
}

void AdminApi::Lockdown(const HttpRequest& request, const security::Principal& principal,
                        HttpResponse* response) {
  if (request.method == "POST") {
    const LockdownBody body = ReadLockdownBody(request);
    access_->SetLockdown(body.on, body.reason, access_->ActorFor(principal));
  }
  SetJson(response, 200, json::object{{"lockdown", security::LockdownToJson(access_->lockdown())}});
}

void AdminApi::Notice(const HttpRequest& request, const security::Principal& principal,
                      HttpResponse* response) {
  const int64_t now = security::SystemClock::Instance()->WallMs();
  if (request.method == "PUT") {
    const NoticeBody body = ReadNoticeBody(request);
    ops::ServiceNotice notice;
    try {
      notice = ops::MakeNotice(body.text, body.until, access_->ActorFor(principal).Describe(), now);
    } catch (const std::invalid_argument& e) {
      throw BodyError{400, "bad_parameter", e.what()};
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
