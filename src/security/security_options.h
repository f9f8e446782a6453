// The [security] settings in the form the request pipeline uses: parsed
// networks and resolved rate limits. Built once at start; a malformed
// network entry stops the start with the entry and where it was set.
#ifndef CHATBOT_SECURITY_SECURITY_OPTIONS_H_
#define CHATBOT_SECURITY_SECURITY_OPTIONS_H_

#include <chrono>

#include "common/config.h"
#include "security/client_address.h"
#include "security/ip_network.h"
#include "security/rate_limiter.h"
#include "security/role.h"

namespace chatbot::security {

enum class AnonymousAccess { kOff, kLoopback, kOn };

struct SecurityOptions {
  AnonymousAccess anonymous = AnonymousAccess::kLoopback;
  NetworkList allow;            // empty: any address
  NetworkList trusted_proxies;  // empty: no forwarding headers are trusted
  ProxyHeader proxy_header = ProxyHeader::kXForwardedFor;
  // Tokens an expensive request (AccessRequest::expensive) takes.
  double expensive_request_cost = 10;
  RateLimit anonymous_limit;    // per address, requests without a key
  RateLimit per_address_limit;  // per address, every request (rate 0: off)
  RateLimit client_limit;
  RateLimit operator_limit;
  RateLimit admin_limit;
  RateLimit auth_failure_limit;  // per address
  double burst_seconds = 2;
  std::chrono::milliseconds refresh_interval{100};
  std::chrono::milliseconds usage_flush_interval{10000};
  std::chrono::milliseconds audit_interval{60000};

  // Throws ConfigError: "file config/chatbot.toml:41: security.allow: entry 2
  // '10.0.0.1/8': 10.0.0.1 has bits set beyond the /8 prefix ...".
  static SecurityOptions FromConfiguration(const Configuration& config);
  // Defaults from Settings alone (no origins to name); for tests.
  static SecurityOptions FromSettings(const Settings& settings);

  // The bucket for `rate` requests per second: rate x burst_seconds tokens
  // (at least 1), or an explicit burst.
  RateLimit MakeLimit(double rate, std::optional<double> burst = std::nullopt) const;
  const RateLimit& RoleLimit(Role role) const;
  // A key's limit: its own rate and burst where set, else its role's.
  RateLimit KeyLimit(Role role, const std::optional<double>& rate,
                     const std::optional<double>& burst) const;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_SECURITY_OPTIONS_H_
