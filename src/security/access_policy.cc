#include "security/access_policy.h"

namespace chatbot::security {
namespace {

// `path` is `prefix` or continues it with '/'.
bool Under(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

Role RequiredRole(std::string_view path) {
  // The hot paths first: a request costs a couple of comparisons.
  if (path == "/v1/parse" || path == "/v1/chat" || path == "/v1/parse/batch") {
    return Role::kClient;
  }
  if (path == "/health" || path == "/ready") return Role::kPublic;
  // The web pages and their assets (server/static_files.h): the pages ask
  // for a key themselves, and must load during a lockdown to say so.
  if (path == "/" || path == "/index.html" || path == "/admin" || path == "/admin/" ||
      path == "/demo" || path == "/demo/" || path == "/widget.js" || path.starts_with("/static/")) {
    return Role::kPublic;
  }
  if (Under(path, "/v1/admin")) return Role::kAdmin;
  // The review reads every user's messages (docs/web.md, "Review").
  if (Under(path, "/v1/model") || Under(path, "/v1/review") || path == "/metrics" ||
      Under(path, "/v1/backup") || Under(path, "/v1/backups")) {
    return Role::kOperator;
  }
  return Role::kClient;
}

}  // namespace chatbot::security
