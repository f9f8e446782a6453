// AccessControl's key table (access_control.h): the immutable snapshot and
// its per-thread cache, reloading it when the database changes, the
// management operations that rebuild it, the background thread, and
// flushing the usage and refusal counts.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <map>

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "security/access_control_state.h"

namespace chatbot::security {
namespace {

// Generations are unique across instances, so a thread's cached snapshot
// can never be mistaken for another instance's.
std::atomic<uint64_t> g_generations{0};

}  // namespace

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
