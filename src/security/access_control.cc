#include "security/access_control.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>

#include "common/ascii_text.h"
#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "security/access_policy.h"
#include "security/api_key.h"
#include "security/client_address.h"

namespace chatbot::security {
namespace {

// Generations are unique across instances, so a thread's cached snapshot
// can never be mistaken for another instance's.
std::atomic<uint64_t> g_generations{0};

// Distinct refusal counts kept per audit interval; beyond it, further
// addresses are counted together (a flood from random addresses must not
// grow memory without bound).
constexpr size_t kMaxRefusalEntries = 100000;

int64_t CeilSeconds(double seconds) {
  return static_cast<int64_t>(std::ceil(std::max(0.0, seconds) - 1e-9));
}

}  // namespace

// ---------------------------------------------------------------------------

struct AccessControl::KeyUsage {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> refused{0};
  std::atomic<int64_t> last_used_ms{0};
  std::mutex address_mu;
  IpAddress last_address;            // guarded by address_mu
  int64_t flushed_last_used_ms = 0;  // guarded by reload_mu_
};

struct AccessControl::KeyEntry {
  uint64_t id = 0;
  std::string id_text;
  std::string name;
  Role role = Role::kClient;
  KeyHash hash{};
  bool has_previous = false;
  KeyHash previous{};
  int64_t previous_until_ms = 0;
  int64_t expires_at_ms = INT64_MAX;
  bool revoked = false;
  int64_t revoked_at_ms = 0;
  NetworkList allow;
  bool allow_broken = false;  // the stored list does not parse: refuse everything
  RateLimit limit;
  KeyUsage* usage = nullptr;
};

struct AccessControl::Snapshot {
  std::unordered_map<uint64_t, KeyEntry> keys;
  LockdownState lockdown;
  uint64_t generation = 0;
};

struct AccessControl::RefusalCounter {
  struct Key {
    IpAddress address;
    uint64_t key_id = 0;
    std::string code;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      uint64_t h = std::hash<std::string>{}(k.code) ^ (k.key_id * 0x9e3779b97f4a7c15ULL);
      for (uint8_t b : k.address.bytes()) h = (h ^ b) * 0x100000001b3ULL;
      return static_cast<size_t>(h);
    }
  };
  std::mutex mu;
  std::unordered_map<Key, int64_t, Hash> counts;  // guarded by mu
  int64_t since_ms = 0;                           // guarded by mu
};

std::string Principal::Owner() const {
  return anonymous ? std::string("anonymous") : "key:" + KeyIdText(key_id);
}

// ---------------------------------------------------------------------------

AccessControl::AccessControl(SecurityOptions options, KeyStore* store, AuditLog* audit,
                             const Clock* clock, std::unique_ptr<RateLimiter> limiter)
    : options_(std::move(options)),
      store_(store),
      audit_(audit),
      clock_(clock),
      limiter_(limiter ? std::move(limiter) : std::make_unique<LocalRateLimiter>()),
      manager_(store, audit, clock),
      refusals_(std::make_unique<RefusalCounter>()),
      auth_failure_refill_ns_(
          static_cast<int64_t>(1e9 * std::max(1.0, options_.auth_failure_limit.burst) /
                               std::max(1e-9, options_.auth_failure_limit.rate))) {
  auto empty = std::make_shared<Snapshot>();
  empty->generation = ++g_generations;
  snapshot_.store(empty);
  generation_.store(empty->generation);
  refusals_->since_ms = clock_->WallMs();
}

AccessControl::~AccessControl() {
  try {
    Stop();
  } catch (...) {
    // Logged by the flushes; nothing else to do in a destructor.
  }
}

void AccessControl::Start(bool background) {
  Reload();
  if (background && !thread_.joinable()) {
    std::lock_guard lock(thread_mu_);
    stopping_ = false;
    thread_ = std::thread([this] { Run(); });
  }
}

void AccessControl::Stop() {
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
  }
  thread_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  FlushUsage();
  FlushRefusals();
}

void AccessControl::Run() {
  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::time_point last_flush = SteadyClock::now();
  SteadyClock::time_point last_audit = last_flush;
  SteadyClock::time_point last_error_log{};
  std::unique_lock lock(thread_mu_);
  while (!stopping_) {
    thread_cv_.wait_for(lock, options_.refresh_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const SteadyClock::time_point now = SteadyClock::now();
    try {
      Refresh();
      if (now - last_flush >= options_.usage_flush_interval) {
        FlushUsage();
        last_flush = now;
      }
      if (now - last_audit >= options_.audit_interval) {
        FlushRefusals();
        last_audit = now;
      }
    } catch (const std::exception& e) {
      // A locked or failing database: keep serving from the table in
      // memory, and say so at most once a minute.
      if (now - last_error_log > std::chrono::minutes(1)) {
        AppLog()->error("security: cannot refresh from the keys database: {}", e.what());
        last_error_log = now;
      }
    }
    lock.lock();
  }
}

// ---------------------------------------------------------------------------
// The snapshot.

const AccessControl::Snapshot& AccessControl::CurrentSnapshot() const {
  struct Cache {
    const AccessControl* owner = nullptr;
    uint64_t generation = 0;
    std::shared_ptr<const Snapshot> snapshot;
  };
  thread_local Cache cache;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cache.owner != this || cache.generation != generation) {
    cache.snapshot = snapshot_.load(std::memory_order_acquire);
    cache.owner = this;
    cache.generation = cache.snapshot->generation;
  }
  return *cache.snapshot;
}

AccessControl::KeyUsage* AccessControl::UsageFor(uint64_t id) {
  std::unique_ptr<KeyUsage>& usage = usage_[id];
  if (!usage) usage = std::make_unique<KeyUsage>();
  return usage.get();
}

RateLimit AccessControl::EffectiveLimit(const KeyRecord& record) const {
  return options_.KeyLimit(record.role, record.rate_limit, record.burst);
}

void AccessControl::Reload() {
  std::lock_guard lock(reload_mu_);
  const int64_t version = store_->DataVersion();
  std::vector<KeyRecord> records = store_->List();
  const LockdownState lockdown = store_->GetLockdown();

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->keys.reserve(records.size());
  for (KeyRecord& r : records) {
    const std::optional<uint64_t> id = ParseKeyId(r.id);
    if (!id) {
      AppLog()->error("security: {}: key id '{}' is malformed; the key is ignored",
                      store_->path().string(), r.id);
      continue;
    }
    KeyEntry e;
    e.id = *id;
    e.id_text = r.id;
    e.name = std::move(r.name);
    e.role = r.role;
    e.hash = r.secret_hash;
    if (r.previous_hash) {
      e.has_previous = true;
      e.previous = *r.previous_hash;
      e.previous_until_ms = r.previous_valid_until_ms;
    }
    e.expires_at_ms = r.expires_at_ms.value_or(INT64_MAX);
    e.revoked = r.revoked();
    e.revoked_at_ms = r.revoked_at_ms.value_or(0);
    try {
      e.allow = NetworkList::ParseOrThrow(r.allow, "key " + r.id + " allow");
    } catch (const ConfigError& error) {
      e.allow_broken = true;
      AppLog()->error("security: {}; the key is refused until its allowlist is fixed",
                      error.what());
    }
    e.limit = EffectiveLimit(r);
    e.usage = UsageFor(*id);
    snapshot->keys.emplace(*id, std::move(e));
  }
  snapshot->lockdown = lockdown;
  snapshot->generation = ++g_generations;

  const std::shared_ptr<const Snapshot> previous = snapshot_.load();
  if (previous->lockdown.on != lockdown.on) {
    AppLog()->warn("security: lockdown is now {} (by {}{})", lockdown.on ? "ON" : "off",
                   lockdown.by, lockdown.reason.empty() ? "" : ": " + lockdown.reason);
  }
  snapshot_.store(std::move(snapshot), std::memory_order_release);
  generation_.store(snapshot_.load()->generation, std::memory_order_release);
  data_version_ = version;
}

void AccessControl::Refresh() {
  {
    std::lock_guard lock(reload_mu_);
    if (store_->DataVersion() == data_version_) return;
  }
  Reload();
}

size_t AccessControl::key_count() const {
  return snapshot_.load()->keys.size();
}

LockdownState AccessControl::lockdown() const {
  return snapshot_.load()->lockdown;
}

// ---------------------------------------------------------------------------
// The pipeline.

bool AccessControl::Refuse(Refusal* refusal, int status, std::string_view code, std::string message,
                           const IpAddress& address, const KeyEntry* key) {
  refusal->status = status;
  refusal->code.assign(code);
  refusal->message = std::move(message);
  refusal->headers.clear();
  if (key != nullptr) key->usage->refused.fetch_add(1, std::memory_order_relaxed);
  RefusalCounter& counter = *refusals_;
  RefusalCounter::Key entry{address, key != nullptr ? key->id : 0, std::string(code)};
  std::lock_guard lock(counter.mu);
  auto it = counter.counts.find(entry);
  if (it != counter.counts.end()) {
    ++it->second;
  } else {
    if (counter.counts.size() >= kMaxRefusalEntries) entry.address = IpAddress();
    ++counter.counts[entry];
  }
  return false;
}

bool AccessControl::RefuseRate(Refusal* refusal, const RateDecision& decision,
                               std::string_view code, std::string message, const IpAddress& address,
                               const KeyEntry* key) {
  const std::string retry_after =
      std::to_string(std::max<int64_t>(1, CeilSeconds(decision.retry_after_s)));
  if (decision.unavailable) {
    // The limiter could not decide (rate_limiter.h): the service is
    // unavailable for the moment, not the client over its limit.
    Refuse(refusal, 503, "rate_limiter_unavailable",
           "rate limits cannot be checked at the moment (their shared store is unreachable); "
           "try again shortly",
           address, key);
    refusal->headers.emplace_back("Retry-After", retry_after);
    return false;
  }
  Refuse(refusal, 429, code, std::move(message), address, key);
  refusal->headers.emplace_back("Retry-After", retry_after);
  refusal->headers.emplace_back("RateLimit-Limit", std::to_string(decision.limit));
  refusal->headers.emplace_back("RateLimit-Remaining", std::to_string(decision.remaining));
  refusal->headers.emplace_back("RateLimit-Reset", std::to_string(CeilSeconds(decision.reset_s)));
  return false;
}

bool AccessControl::Admit(const AccessRequest& request, Principal* principal, Refusal* refusal) {
  const Snapshot& snapshot = CurrentSnapshot();
  const Role need = RequiredRole(request.path);
  static const std::vector<std::pair<std::string, std::string>> kNoHeaders;
  const ClientAddress resolved =
      ResolveClientAddress(request.peer, options_.trusted_proxies, options_.proxy_header,
                           request.headers != nullptr ? *request.headers : kNoHeaders);
  const IpAddress& client = resolved.address;
  *principal = Principal{};
  principal->address = client;

  // 1. Authentication.
  std::string_view authorization;
  std::string_view api_key;
  bool has_authorization = false;
  bool has_api_key = false;
  if (request.headers != nullptr) {
    for (const auto& [name, value] : *request.headers) {
      if (name.size() == 13 && name == "authorization") {
        authorization = value;
        has_authorization = true;
      } else if (name.size() == 9 && name == "x-api-key") {
        api_key = value;
        has_api_key = true;
      }
    }
  }
  const KeyEntry* key = nullptr;
  int64_t now_ns = 0;  // read once, when needed
  int64_t now_ms = 0;
  if (has_authorization || has_api_key) {
    std::string_view token;
    bool well_formed = true;
    if (has_authorization) {
      const std::string_view value = TrimBlanks(authorization);
      if (StartsWithIgnoringCase(value, "bearer ")) {
        token = TrimBlanks(value.substr(7));
      } else {
        well_formed = false;
      }
    } else {
      token = TrimBlanks(api_key);
    }
    now_ns = clock_->SteadyNs();
    const BucketId failures = BucketId::ForAddress(BucketId::Kind::kAuthFailures, client);
    if (now_ns - last_auth_failure_ns_.load(std::memory_order_relaxed) < auth_failure_refill_ns_) {
      const RateDecision slow = limiter_->Peek(failures, options_.auth_failure_limit, now_ns);
      if (!slow.allowed) {
        return RefuseRate(refusal, slow, "too_many_auth_failures",
                          "too many failed authentications from " + client.ToString() +
                              "; wait before trying again",
                          client, nullptr);
      }
    }
    const std::optional<KeyParts> parts = well_formed ? ParseKey(token) : std::optional<KeyParts>();
    const KeyEntry* found = nullptr;
    if (parts) {
      const auto it = snapshot.keys.find(parts->id);
      if (it != snapshot.keys.end()) found = &it->second;
    }
    std::string_view failure = "invalid_key";
    std::string message = well_formed ? "the API key is not valid"
                                      : "the Authorization header must be 'Bearer <key>'";
    const KeyEntry* attributed = nullptr;
    if (found != nullptr) {
      const KeyHash hash = HashSecret(parts->id_text, parts->secret);
      now_ms = clock_->WallMs();
      const bool current = HashEquals(hash, found->hash);
      const bool previous = found->has_previous && HashEquals(hash, found->previous) &&
                            now_ms < found->previous_until_ms;
      if (current || previous) {
        // Only a caller who holds the secret learns the key's state.
        if (found->revoked) {
          failure = "key_revoked";
          message = "the API key was revoked at " + FormatTimestamp(found->revoked_at_ms);
          attributed = found;
        } else if (now_ms >= found->expires_at_ms) {
          failure = "key_expired";
          message = "the API key expired at " + FormatTimestamp(found->expires_at_ms);
          attributed = found;
        } else {
          key = found;
        }
      }
    }
    if (key == nullptr) {
      last_auth_failure_ns_.store(now_ns, std::memory_order_relaxed);
      limiter_->Acquire(failures, options_.auth_failure_limit, now_ns);
      Refuse(refusal, 401, failure, std::move(message), client, attributed);
      refusal->headers.emplace_back("WWW-Authenticate",
                                    "Bearer realm=\"chatbot\", error=\"invalid_token\"");
      return false;
    }
    principal->role = key->role;
    principal->anonymous = false;
    principal->key_id = key->id;
  } else {
    const bool anonymous_allowed = options_.anonymous == AnonymousAccess::kOn ||
                                   (options_.anonymous == AnonymousAccess::kLoopback &&
                                    resolved.identified && client.IsLoopback());
    if (!anonymous_allowed && need != Role::kPublic) {
      Refuse(refusal, 401, "authentication_required",
             "this endpoint needs an API key: send 'Authorization: Bearer <key>' or "
             "'X-API-Key: <key>'",
             client, nullptr);
      refusal->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"chatbot\"");
      return false;
    }
    principal->role = anonymous_allowed ? Role::kClient : Role::kPublic;
  }

  // 2. Lockdown.
  if (snapshot.lockdown.on && need != Role::kPublic && principal->role != Role::kAdmin) {
    const LockdownState& l = snapshot.lockdown;
    return Refuse(refusal, 503, "lockdown",
                  "the service is in lockdown since " + FormatTimestamp(l.since_ms) +
                      (l.reason.empty() ? "" : " (" + l.reason + ")") +
                      ": only requests with an admin key are served",
                  client, key);
  }

  // 3. Allowlists.
  if (!options_.allow.empty() && !options_.allow.Contains(client)) {
    return Refuse(refusal, 403, "address_not_allowed",
                  "requests from " + client.ToString() + " are not allowed", client, key);
  }
  if (key != nullptr &&
      (key->allow_broken || (!key->allow.empty() && !key->allow.Contains(client)))) {
    return Refuse(refusal, 403, "address_not_allowed",
                  "this key may not be used from " + client.ToString(), client, key);
  }

  // 4. Rate limits.
  const RateLimit& limit = key != nullptr ? key->limit : options_.anonymous_limit;
  // Searches, exports and review listings take more of a bucket than a chat.
  const double cost = request.expensive ? options_.expensive_request_cost : 1.0;
  if (!limit.unlimited() || !options_.per_address_limit.unlimited()) {
    if (now_ns == 0) now_ns = clock_->SteadyNs();
    if (!options_.per_address_limit.unlimited()) {
      const RateDecision d =
          limiter_->Acquire(BucketId::ForAddress(BucketId::Kind::kAnyRequest, client),
                            options_.per_address_limit, now_ns, cost);
      if (!d.allowed) {
        return RefuseRate(refusal, d, "rate_limited",
                          fmt::format("rate limit of {:g} requests per second for {} exceeded",
                                      options_.per_address_limit.rate, client.ToString()),
                          client, key);
      }
    }
    if (!limit.unlimited()) {
      const BucketId bucket = key != nullptr
                                  ? BucketId::ForKey(key->id)
                                  : BucketId::ForAddress(BucketId::Kind::kAddress, client);
      const RateDecision d = limiter_->Acquire(bucket, limit, now_ns, cost);
      if (!d.allowed) {
        return RefuseRate(
            refusal, d, "rate_limited",
            fmt::format(
                "rate limit of {:g} requests per second {} exceeded", limit.rate,
                key != nullptr ? "for this key" : "without a key from " + client.ToString()),
            client, key);
      }
    }
  }

  // 5. Role.
  if (!RoleSatisfies(principal->role, need)) {
    return Refuse(refusal, 403, "forbidden",
                  fmt::format("this endpoint needs the {} role; {} the {} role", RoleName(need),
                              key != nullptr ? "this key has" : "requests without a key have",
                              RoleName(principal->role)),
                  client, key);
  }

  if (key != nullptr) {
    KeyUsage& usage = *key->usage;
    usage.requests.fetch_add(1, std::memory_order_relaxed);
    // The last use is kept to the second: at most one lock per key and second.
    if (now_ms - usage.last_used_ms.load(std::memory_order_relaxed) >= 1000) {
      std::lock_guard lock(usage.address_mu);
      usage.last_address = client;
      usage.last_used_ms.store(now_ms, std::memory_order_relaxed);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Management.

IssuedKey AccessControl::CreateKey(const NewKey& request, const Actor& actor) {
  IssuedKey issued = manager_.Create(request, actor);
  Reload();
  return issued;
}

IssuedKey AccessControl::RotateKey(const std::string& id, int64_t grace_ms, const Actor& actor) {
  IssuedKey issued = manager_.Rotate(id, grace_ms, actor);
  Reload();
  return issued;
}

KeyRecord AccessControl::RevokeKey(const std::string& id, const Actor& actor) {
  KeyRecord record = manager_.Revoke(id, actor);
  Reload();
  return record;
}

KeyRecord AccessControl::UpdateKey(const std::string& id, const KeyChange& change,
                                   const Actor& actor) {
  KeyRecord record = manager_.Update(id, change, actor);
  Reload();
  return record;
}

LockdownState AccessControl::SetLockdown(bool on, const std::string& reason, const Actor& actor) {
  LockdownState state = manager_.SetLockdown(on, reason, actor);
  Reload();
  return state;
}

std::vector<KeyRecord> AccessControl::ListKeys() {
  FlushUsage();
  return manager_.List();
}

KeyRecord AccessControl::GetKey(const std::string& id) {
  FlushUsage();
  return manager_.Get(id);
}

Actor AccessControl::ActorFor(const Principal& principal) const {
  Actor actor;
  actor.address = principal.address.ToString();
  if (principal.anonymous) {
    actor.type = Actor::Type::kAnonymous;
    return actor;
  }
  actor.type = Actor::Type::kKey;
  actor.key_id = KeyIdText(principal.key_id);
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  if (auto it = snapshot->keys.find(principal.key_id); it != snapshot->keys.end()) {
    actor.key_name = it->second.name;
  }
  return actor;
}

// ---------------------------------------------------------------------------
// Flushing.

void AccessControl::FlushUsage() {
  std::lock_guard lock(reload_mu_);
  std::vector<UsageDelta> deltas;
  std::vector<KeyUsage*> sources;
  for (auto& [id, usage] : usage_) {
    const int64_t requests = usage->requests.exchange(0, std::memory_order_relaxed);
    const int64_t refused = usage->refused.exchange(0, std::memory_order_relaxed);
    const int64_t last_used = usage->last_used_ms.load(std::memory_order_relaxed);
    const bool used = last_used > usage->flushed_last_used_ms;
    if (requests == 0 && refused == 0 && !used) continue;
    UsageDelta& delta = deltas.emplace_back();
    delta.id = KeyIdText(id);
    delta.requests = requests;
    delta.refused = refused;
    if (used) {
      std::lock_guard address_lock(usage->address_mu);
      delta.last_used_at_ms = last_used;
      delta.last_used_address = usage->last_address.ToString();
    }
    sources.push_back(usage.get());
  }
  if (deltas.empty()) return;
  try {
    store_->AddUsage(deltas);
    for (size_t i = 0; i < deltas.size(); ++i) {
      if (deltas[i].last_used_at_ms != 0)
        sources[i]->flushed_last_used_ms = deltas[i].last_used_at_ms;
    }
  } catch (const StoreError& e) {
    // Counted again next time.
    for (size_t i = 0; i < deltas.size(); ++i) {
      sources[i]->requests.fetch_add(deltas[i].requests, std::memory_order_relaxed);
      sources[i]->refused.fetch_add(deltas[i].refused, std::memory_order_relaxed);
    }
    AppLog()->error("security: cannot record key usage: {}", e.what());
  }
}

void AccessControl::FlushRefusals() {
  std::unordered_map<RefusalCounter::Key, int64_t, RefusalCounter::Hash> counts;
  int64_t since_ms = 0;
  const int64_t now_ms = clock_->WallMs();
  {
    std::lock_guard lock(refusals_->mu);
    counts.swap(refusals_->counts);
    since_ms = refusals_->since_ms;
    refusals_->since_ms = now_ms;
  }
  if (counts.empty()) return;
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  // One app-log line per address, one audit line per address, key and reason.
  std::map<std::string, std::map<std::string, int64_t>> by_address;
  for (const auto& [entry, count] : counts) {
    Actor actor;
    actor.address = entry.address.ToString();
    if (entry.key_id != 0) {
      actor.type = Actor::Type::kKey;
      actor.key_id = KeyIdText(entry.key_id);
      if (auto it = snapshot->keys.find(entry.key_id); it != snapshot->keys.end()) {
        actor.key_name = it->second.name;
      }
    } else {
      actor.type = Actor::Type::kAnonymous;
    }
    audit_->Write("requests_refused", actor,
                  {{"reason", entry.code},
                   {"count", count},
                   {"since", FormatTimestamp(since_ms)},
                   {"until", FormatTimestamp(now_ms)}},
                  now_ms);
    by_address[actor.address][entry.code] += count;
  }
  const int64_t seconds = std::max<int64_t>(1, (now_ms - since_ms + 500) / 1000);
  for (const auto& [address, reasons] : by_address) {
    int64_t total = 0;
    bool auth = false;
    std::string detail;
    for (const auto& [code, count] : reasons) {
      total += count;
      auth = auth || code == "invalid_key" || code == "key_revoked" || code == "key_expired" ||
             code == "too_many_auth_failures";
      detail += fmt::format("{}{} {}", detail.empty() ? "" : ", ", code, count);
    }
    AppLog()->log(auth ? spdlog::level::warn : spdlog::level::info,
                  "security: refused {} request(s) from {} in the last {} s: {}", total, address,
                  seconds, detail);
  }
}

}  // namespace chatbot::security
