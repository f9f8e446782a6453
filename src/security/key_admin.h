// Managing API keys and the lockdown from outside the service, as
// `chatbot keys` and `chatbot lockdown` do (docs/security.md): the keys
// database opened with its own connection (safe while the service runs:
// WAL), the audit log, and the key manager acting as the command line.
// A running service picks a change up within [security] refresh_ms; every
// method that changes something waits that long before it returns, so that
// the change is in force when it does.
//
// Also the operator's text form of a key request (the flags' values,
// checked here) and the text the commands print.
#ifndef CHATBOT_SECURITY_KEY_ADMIN_H_
#define CHATBOT_SECURITY_KEY_ADMIN_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "security/audit_log.h"
#include "security/key_manager.h"
#include "security/security_options.h"

namespace chatbot::security {

// A key's settings as typed: "90d", "10", "default", "never". Empty means
// "not given".
struct KeyRequestText {
  std::string name;
  std::string role;
  std::string expires;             // "90d"; a change: also "never"
  std::vector<std::string> allow;  // CIDR
  bool clear_allow = false;        // a change: any address again
  std::string rate_limit;          // requests/s; a change: also "default"
  std::string burst;               // a change: also "default"
};

// Each throws KeyError kInvalid naming the flag and the value.
NewKey ParseNewKey(const KeyRequestText& text);
KeyChange ParseKeyChange(const KeyRequestText& text);
// A rotation's grace period ("24h"); empty: none.
int64_t ParseGrace(const std::string& text);

class KeyAdmin {
 public:
  // Opens (creating when absent) [security] database. Throws StoreError.
  explicit KeyAdmin(const Configuration& config);

  // Whether the keys database exists: reading commands create nothing.
  static bool DatabaseExists(const Settings& settings);

  // What `keys list` and `keys show ID` print, as JSON (one line) or text.
  // Neither creates the database: without one there are no keys (`show`
  // throws KeyError kNotFound naming the database).
  static std::string ListText(const Configuration& config, bool as_json);
  static std::string ShowText(const Configuration& config, const std::string& id, bool as_json);
  // `lockdown status`: the state, off without a database.
  static LockdownState CurrentLockdown(const Settings& settings);

  // As KeyManager's, acting as the command line; throw KeyError.
  IssuedKey Create(const NewKey& request);
  IssuedKey Rotate(const std::string& id, int64_t grace_ms);
  KeyRecord Revoke(const std::string& id);
  KeyRecord Update(const std::string& id, const KeyChange& change);
  LockdownState SetLockdown(bool on, const std::string& reason);
  std::vector<KeyRecord> List() { return manager_.List(); }
  KeyRecord Get(const std::string& id) { return manager_.Get(id); }

  // The key's limit: its own, else its role's ([security] settings).
  RateLimit Limit(const KeyRecord& record) const;
  // KeyToJson with the limit, now.
  boost::json::object Json(const KeyRecord& record) const;
  // The record as `keys show` prints it: Json's line, or KeyDescription.
  std::string Text(const KeyRecord& record, bool as_json) const;

 private:
  void WaitForServiceRefresh() const;

  const Configuration& config_;
  std::unique_ptr<KeyStore> store_;
  AuditLog audit_;
  KeyManager manager_;
  // Read when a limit is first asked for, so that the lockdown works even
  // with malformed [security] entries.
  mutable std::optional<SecurityOptions> options_;
};

// `keys show`: one "field: value" line each.
std::string KeyDescription(const KeyRecord& record, const RateLimit& limit, int64_t now_ms);
// `keys list`: a header and a row per key.
std::string KeyTable(const std::vector<KeyRecord>& keys, int64_t now_ms);
// `Created key ID "NAME" (role R, expires T).`; `what` is Created or Rotated.
std::string IssuedKeyLine(const IssuedKey& issued, const char* what);
// After a rotation: until when the old secret keeps working, or that it no
// longer does.
std::string OldSecretNotice(const IssuedKey& issued, int64_t grace_ms);
// How to use a key just shown, and that it is shown only once.
extern const char* const kStoreKeyNotice;
// `Lockdown is ON since T (by A): REASON`, or off.
std::string LockdownText(const LockdownState& state);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_KEY_ADMIN_H_
