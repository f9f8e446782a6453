// The keys store: API keys (hashes only), their usage counters and the
// lockdown state, in one place (`[security] database`), so that one backup
// carries them all and the command line and the service see the same state.
//
// Used by management operations only (the CLI, the admin API, the service's
// start) and by the service's background thread (reloading after changes,
// writing batched usage counters): never on the request path, which reads
// an in-memory table (access_control.h).
//
// Implementations are thread-safe, and several processes may open the same
// store at once.
#ifndef CHATBOT_SECURITY_KEY_STORE_H_
#define CHATBOT_SECURITY_KEY_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "security/api_key.h"
#include "security/role.h"

namespace chatbot::security {

struct KeyRecord {
  std::string id;  // 16 hex digits
  std::string name;
  Role role = Role::kClient;
  KeyHash secret_hash{};
  // After a rotation: the old secret's hash, valid until previous_valid_until_ms.
  std::optional<KeyHash> previous_hash;
  int64_t previous_valid_until_ms = 0;
  int64_t created_at_ms = 0;
  std::string created_by;  // the actor, as audit_log.h describes it
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> rotated_at_ms;
  std::optional<int64_t> revoked_at_ms;
  std::string revoked_by;
  std::vector<std::string> allow;    // CIDR entries; empty: any address
  std::optional<double> rate_limit;  // requests/s; overrides the role's default
  std::optional<double> burst;
  // Usage, as last written by the service (see AddUsage).
  std::optional<int64_t> last_used_at_ms;
  std::string last_used_address;
  int64_t requests = 0;
  int64_t refused = 0;

  bool revoked() const { return revoked_at_ms.has_value(); }
  bool expired(int64_t now_ms) const { return expires_at_ms && now_ms >= *expires_at_ms; }
};

// What the service counted for one key since its last flush.
struct UsageDelta {
  std::string id;
  int64_t requests = 0;
  int64_t refused = 0;
  int64_t last_used_at_ms = 0;  // 0: not used in the interval
  std::string last_used_address;
};

struct LockdownState {
  bool on = false;
  int64_t since_ms = 0;  // when it was last switched (on or off)
  std::string by;        // the actor
  std::string reason;
  friend bool operator==(const LockdownState&, const LockdownState&) = default;
};

// Where keys, lockdown and usage counters live. The service, the CLI and
// the admin API reach them only through this interface, so that another
// backend is one more implementation of it (sqlite_key_store.h is the one
// there is).
class KeyStore {
 public:
  // Opens or creates the keys database at `path` (SqliteKeyStore). Throws
  // StoreError naming the file.
  static std::unique_ptr<KeyStore> Open(const std::filesystem::path& path);

  virtual ~KeyStore() = default;

  // Every key, oldest first.
  virtual std::vector<KeyRecord> List() = 0;
  virtual std::optional<KeyRecord> Get(const std::string& id) = 0;
  // False when the id is taken (the caller draws another).
  virtual bool Insert(const KeyRecord& record) = 0;
  // Inserts many keys in one transaction (imports, load tests); returns how
  // many were new.
  virtual int64_t InsertMany(const std::vector<KeyRecord>& records) = 0;
  // Reads the key, lets `change` edit it, and writes back its settings (not
  // its usage counters), in one write transaction. nullopt when there is no
  // such key; otherwise the record as written. `change` may throw to abort.
  virtual std::optional<KeyRecord> Modify(const std::string& id,
                                          const std::function<void(KeyRecord&)>& change) = 0;
  // Adds the counters, in one transaction.
  virtual void AddUsage(const std::vector<UsageDelta>& deltas) = 0;

  virtual LockdownState GetLockdown() = 0;
  virtual void SetLockdown(const LockdownState& state) = 0;

  // Changes whenever another process (or connection) commits a change: the
  // service polls it to notice what the CLI changed.
  virtual int64_t DataVersion() = 0;

  // Where the state lives, for messages and backups.
  virtual const std::filesystem::path& path() const = 0;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_KEY_STORE_H_
