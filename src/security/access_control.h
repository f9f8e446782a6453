// The request pipeline's security half, run before every route:
//
//   authenticate -> lockdown -> allowlist -> rate limit -> role -> (route)
//
// 1. Authenticate: a key from "Authorization: Bearer <key>" or "X-API-Key",
//    looked up by its public id in an in-memory table and verified by
//    comparing SHA-256 digests in constant time (api_key.h); the old secret
//    of a rotated key is accepted until its grace period ends. Without a key,
//    [security] anonymous decides: off (401), loopback (served with the
//    client role when the client address is a loopback address), on. An
//    address whose authentications keep failing gets 429 for a while.
// 2. Lockdown: only admin keys are served (503 for everyone else); /health
//    and /ready answer (and report it).
// 3. Allowlists: the global one, then the key's own.
// 4. Rate limits: a token bucket per key (the role's default or the key's
//    own), per address for requests without a key, and optionally per
//    address for all (rate_limiter.h); 429 with Retry-After and RateLimit-*.
// 5. Role: the endpoint's (access_policy.h) against the principal's.
//
// The client address is the TCP peer, or, when the peer is a trusted proxy,
// what the configured proxy header says (client_address.h). Anonymous
// loopback access needs a client address that is loopback and was named,
// not one a proxy could not identify.
//
// Cost on the request path: no disk, no allocation for an admitted keyed
// request; a hash lookup, one SHA-256, one sharded bucket update. The key
// table is an immutable snapshot published through an atomic shared_ptr and
// cached per thread behind a generation counter, so the common case reads
// one atomic integer. Management operations (the admin API) rebuild the
// snapshot before they return, so a revoked key is refused from the next
// request on, keep-alive connections included; changes made by another
// process (the CLI) are noticed by a background thread that compares
// SQLite's PRAGMA data_version every [security] refresh_ms (100 ms). With
// PostgreSQL, another instance's change calls Refresh() at once through a
// notification (server/cluster_sync.h), and the thread's poll runs every
// [cluster] resync_s, in case one was lost.
//
// Usage counters (requests, refusals, last use) are counted in memory and
// written to the database in one transaction every [security]
// usage_flush_s; refusals are also counted per address and reason and
// written to the audit log once per [security] audit_interval_s.
//
// The pipeline is in access_control.cc; the key table (snapshot, refresh,
// management, flushes) in access_control_keys.cc; the state both share in
// access_control_state.h.
#ifndef CHATBOT_SECURITY_ACCESS_CONTROL_H_
#define CHATBOT_SECURITY_ACCESS_CONTROL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "security/audit_log.h"
#include "security/clock.h"
#include "security/key_manager.h"
#include "security/key_store.h"
#include "security/rate_limiter.h"
#include "security/security_options.h"

namespace chatbot::security {

// What the pipeline looks at; views into the server's request.
struct AccessRequest {
  std::string_view method;
  std::string_view path;
  // A search or review request (server/expensive_requests.h): it takes
  // expensive_request_cost tokens of the rate limits instead of one.
  bool expensive = false;
  // Header names in lower case, as the server stores them.
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  IpAddress peer;  // the TCP peer
};

// Who a request was admitted as.
struct Principal {
  Role role = Role::kPublic;  // kClient for anonymous access
  bool anonymous = true;
  uint64_t key_id = 0;  // when !anonymous
  IpAddress address;    // the client address (after trusted proxies)

  // The owner recorded with the sessions it creates: "key:<id>", or
  // "anonymous" (every request without a key is one principal).
  std::string Owner() const;
  // Operators and admins see every session; clients their own.
  bool SeesAllSessions() const { return RoleSatisfies(role, Role::kOperator); }
};

// Why a request was refused, ready to be answered.
struct Refusal {
  int status = 0;
  std::string code;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;
};

class AccessControl {
 public:
  // `store`, `audit` and `clock` are not owned. `limiter` defaults to a
  // LocalRateLimiter.
  AccessControl(SecurityOptions options, KeyStore* store, AuditLog* audit, const Clock* clock,
                std::unique_ptr<RateLimiter> limiter = nullptr);
  ~AccessControl();
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  // Loads the keys and the lockdown state; with `background`, starts the
  // thread that refreshes and flushes (tests drive Refresh and the flushes
  // themselves). Throws StoreError.
  void Start(bool background = true);
  // Stops the thread and writes what is still counted. Idempotent.
  void Stop();

  // Thread-safe. True: admitted as *principal. False: *refusal says why.
  bool Admit(const AccessRequest& request, Principal* principal, Refusal* refusal);

  // The admin API's operations: KeyManager's, after which the in-memory
  // table is rebuilt, so they are in force for the next request.
  IssuedKey CreateKey(const NewKey& request, const Actor& actor);
  IssuedKey RotateKey(const std::string& id, int64_t grace_ms, const Actor& actor);
  KeyRecord RevokeKey(const std::string& id, const Actor& actor);
  KeyRecord UpdateKey(const std::string& id, const KeyChange& change, const Actor& actor);
  LockdownState SetLockdown(bool on, const std::string& reason, const Actor& actor);
  // With the usage counted so far (flushed first).
  std::vector<KeyRecord> ListKeys();
  KeyRecord GetKey(const std::string& id);

  LockdownState lockdown() const;
  // The audit actor for an admitted principal (key id, name, address).
  Actor ActorFor(const Principal& principal) const;
  // Where the admin API records changes that are not keys' (the notice).
  AuditLog* audit() const { return audit_; }
  // The limit a key is held to: its own, or its role's default.
  RateLimit EffectiveLimit(const KeyRecord& record) const;
  const SecurityOptions& options() const { return options_; }
  KeyManager& manager() { return manager_; }

  // Reloads when another connection changed the database.
  void Refresh();
  // Rebuilds the in-memory table from the database.
  void Reload();
  void FlushUsage();
  void FlushRefusals();

  // Keys in the current table (for tests and /health).
  size_t key_count() const;

 private:
  struct KeyUsage;
  struct KeyEntry;
  struct Snapshot;
  struct RefusalCounter;

  const Snapshot& CurrentSnapshot() const;
  bool Refuse(Refusal* refusal, int status, std::string_view code, std::string message,
              const IpAddress& address, const KeyEntry* key);
  bool RefuseRate(Refusal* refusal, const RateDecision& decision, std::string_view code,
                  std::string message, const IpAddress& address, const KeyEntry* key);
  KeyUsage* UsageFor(uint64_t id);  // requires reload_mu_
  void Run();

  const SecurityOptions options_;
  KeyStore* const store_;
  AuditLog* const audit_;
  const Clock* const clock_;
  std::unique_ptr<RateLimiter> limiter_;
  KeyManager manager_;

  // The published snapshot and its generation (see CurrentSnapshot).
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::atomic<uint64_t> generation_{0};

  // Serialises reloads; guards usage_ and data_version_.
  mutable std::mutex reload_mu_;
  std::unordered_map<uint64_t, std::unique_ptr<KeyUsage>> usage_;
  int64_t data_version_ = -1;

  std::unique_ptr<RefusalCounter> refusals_;

  // When the last authentication failed (steady ns): once a failure bucket
  // has had time to refill, none can be empty, so keyed requests skip
  // looking theirs up.
  std::atomic<int64_t> last_auth_failure_ns_{INT64_MIN / 2};
  const int64_t auth_failure_refill_ns_;

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stopping_ = false;  // guarded by thread_mu_
  std::thread thread_;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_ACCESS_CONTROL_H_
