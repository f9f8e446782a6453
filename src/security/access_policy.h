// Which role each endpoint needs (docs/security.md has the table, and
// tests/integration/security_roles_test.cc checks every cell of it against
// the real server).
//
// By path, whatever the method (a wrong method is 405 for whoever may use
// the path):
//   /health, /ready                         public (no key needed)
//   /, /admin, /demo, /widget.js, /static/  public: the web pages (docs/web.md)
//   /v1/parse, /v1/parse/batch, /v1/chat    client
//   /v1/sessions, /v1/sessions/...          client; a client sees only the
//                                           sessions it created (the API
//                                           filters), operators all of them
//   /v1/model, /v1/model/reload             operator
//   /metrics, /v1/backup..., /v1/backups... operator
//   /v1/admin/...                           admin
//   anything else                           client (then 404: nothing there)
// A new endpoint that is not for clients must be added here.
#ifndef CHATBOT_SECURITY_ACCESS_POLICY_H_
#define CHATBOT_SECURITY_ACCESS_POLICY_H_

#include <string_view>

#include "security/role.h"

namespace chatbot::security {

Role RequiredRole(std::string_view path);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_ACCESS_POLICY_H_
