// Roles, ordered: each includes everything the ones below it may do.
//
//   client    parse and chat; only the sessions it created
//   operator  + every session, model status and reload, metrics, backups
//   admin     + keys, lockdown and configuration
//
// kPublic is not a role a key can have: it marks endpoints that need no
// credentials at all (/health, /ready).
#ifndef CHATBOT_SECURITY_ROLE_H_
#define CHATBOT_SECURITY_ROLE_H_

#include <optional>
#include <string_view>

namespace chatbot::security {

enum class Role : int { kPublic = 0, kClient = 1, kOperator = 2, kAdmin = 3 };

// "client", "operator", "admin" ("public" for kPublic).
std::string_view RoleName(Role role);

// A key's role from its name; nullopt for anything else ("public" included).
std::optional<Role> ParseRole(std::string_view name);

// Whether `have` may do what `need` requires.
inline bool RoleSatisfies(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_ROLE_H_
