#include "security/access_control.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/ascii_text.h"
#include "common/logging.h"
#include "common/time.h"
#include "security/access_control_state.h"
#include "security/access_policy.h"
#include "security/client_address.h"

namespace chatbot::security {
namespace {

// Distinct refusal counts kept per audit interval; beyond it, further
// addresses are counted together (a flood from random addresses must not
// grow memory without bound).
constexpr size_t kMaxRefusalEntries = 100000;

int64_t CeilSeconds(double seconds) {
  return static_cast<int64_t>(std::ceil(std::max(0.0, seconds) - 1e-9));
}

}  // namespace

std::string Principal::Owner() const {
  return anonymous ? std::string("anonymous") : "key:" + KeyIdText(key_id);
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

}  // namespace chatbot::security
