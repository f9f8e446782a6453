// Key lifecycle and lockdown: the operations behind `chatbot keys ...`,
// `chatbot lockdown ...` and /v1/admin, with their validation and audit
// records. Writes go to the keys database (key_store.h); the service
// notices changes made by other processes through AccessControl's refresh.
#ifndef CHATBOT_SECURITY_KEY_MANAGER_H_
#define CHATBOT_SECURITY_KEY_MANAGER_H_

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "security/audit_log.h"
#include "security/clock.h"
#include "security/key_store.h"

namespace chatbot::security {

// A refused management operation; `kind` says which answer fits.
class KeyError : public Error {
 public:
  enum class Kind { kInvalid, kNotFound, kConflict };
  KeyError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct NewKey {
  std::string name;
  Role role = Role::kClient;
  // Default member initialisers, so designated initialisers that stop
  // early stay free of -Wmissing-field-initializers.
  std::optional<int64_t> expires_in_ms = {};  // none: never expires
  std::vector<std::string> allow = {};        // CIDR
  std::optional<double> rate_limit = {};      // requests/s; none: the role's default
  std::optional<double> burst = {};           // none: rate x [security] burst_seconds
};

// Only the fields that are set change; the inner optional of a nested one
// clears the value ("never expires", "the role's default").
struct KeyChange {
  std::optional<std::string> name;
  std::optional<Role> role;
  std::optional<std::optional<int64_t>> expires_in_ms;
  std::optional<std::vector<std::string>> allow;
  std::optional<std::optional<double>> rate_limit;
  std::optional<std::optional<double>> burst;
};

// A key as just made or rotated: the only moment its secret exists outside
// the client.
struct IssuedKey {
  KeyRecord record;
  std::string key;  // cbk_<id>_<secret>
};

class KeyManager {
 public:
  // Not owned; they must outlive the manager.
  KeyManager(KeyStore* store, AuditLog* audit, const Clock* clock);

  // Each throws KeyError (invalid input, unknown id, a revoked key) or
  // StoreError.
  IssuedKey Create(const NewKey& request, const Actor& actor);
  // A new secret; the old one keeps working for `grace_ms` (0: stops now).
  IssuedKey Rotate(const std::string& id, int64_t grace_ms, const Actor& actor);
  KeyRecord Revoke(const std::string& id, const Actor& actor);
  KeyRecord Update(const std::string& id, const KeyChange& change, const Actor& actor);
  LockdownState SetLockdown(bool on, const std::string& reason, const Actor& actor);

  std::vector<KeyRecord> List() { return store_->List(); }
  // Throws KeyError kNotFound (also for a malformed id).
  KeyRecord Get(const std::string& id);
  LockdownState Lockdown() { return store_->GetLockdown(); }

  // Whether some key has the admin role, is not revoked and has not expired.
  bool HasActiveAdmin();

  KeyStore* store() const { return store_; }
  const Clock* clock() const { return clock_; }

 private:
  KeyStore* store_;
  AuditLog* audit_;
  const Clock* clock_;
};

// Checks a key's settings as a request would set them; throws KeyError
// kInvalid naming the field (and the entry, for allowlists).
void ValidateName(const std::string& name);
void ValidateAllow(const std::vector<std::string>& allow);
void ValidateRate(const std::optional<double>& rate, const std::optional<double>& burst);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_KEY_MANAGER_H_
