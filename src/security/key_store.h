// The keys database: API keys (hashes only) and the lockdown state, in one
// SQLite file (`[security] database`, WAL mode), so that one backup carries
// both and the command line and the service see the same state.
//
// Used by management operations only (the CLI, the admin API, the service's
// start) and by the service's background thread (reloading after changes,
// writing batched usage counters): never on the request path, which reads
// an in-memory table (access_control.h).
//
// Thread-safe: one connection behind a mutex. Other processes open their own
// connection; WAL lets readers and the writer proceed together and
// busy_timeout makes writers wait their turn. DataVersion() is SQLite's
// PRAGMA data_version, which changes when another connection commits: the
// service polls it to notice what the CLI changed.
#ifndef CHATBOT_SECURITY_KEY_STORE_H_
#define CHATBOT_SECURITY_KEY_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "security/api_key.h"
#include "security/role.h"

struct sqlite3;

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

class KeyStore {
 public:
  static constexpr int64_t kSchemaVersion = 1;
  // PRAGMA application_id ("CBKS"): another program's database is refused.
  static constexpr int64_t kApplicationId = 0x43424b53;

  // Opens or creates the database (its directory with mode 0700, the file
  // with 0600). Throws StoreError naming the file.
  static std::unique_ptr<KeyStore> Open(const std::filesystem::path& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Every key, oldest first.
  std::vector<KeyRecord> List();
  std::optional<KeyRecord> Get(const std::string& id);
  // False when the id is taken (the caller draws another).
  bool Insert(const KeyRecord& record);
  // Inserts many keys in one transaction (imports, load tests); returns how
  // many were new.
  int64_t InsertMany(const std::vector<KeyRecord>& records);
  // Reads the key, lets `change` edit it, and writes back its settings (not
  // its usage counters), in one write transaction. nullopt when there is no
  // such key; otherwise the record as written. `change` may throw to abort.
  std::optional<KeyRecord> Modify(const std::string& id,
                                  const std::function<void(KeyRecord&)>& change);
  // Adds the counters, in one transaction.
  void AddUsage(const std::vector<UsageDelta>& deltas);

  LockdownState GetLockdown();
  void SetLockdown(const LockdownState& state);

  // Changes whenever another connection commits.
  int64_t DataVersion();

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit KeyStore(std::filesystem::path path);
  void Initialize();

  const std::filesystem::path path_;
  const std::string path_string_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;  // guarded by mu_
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_KEY_STORE_H_
