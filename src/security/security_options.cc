#include "security/security_options.h"

#include <algorithm>
#include <cmath>

namespace chatbot::security {
namespace {

SecurityOptions Build(const Settings& settings, const std::string& allow_place,
                      const std::string& proxies_place) {
  const Settings::Security& s = settings.security;
  SecurityOptions o;
  o.anonymous = s.anonymous == "off"  ? AnonymousAccess::kOff
                : s.anonymous == "on" ? AnonymousAccess::kOn
                                      : AnonymousAccess::kLoopback;
  o.allow = NetworkList::ParseOrThrow(s.allow, allow_place);
  o.trusted_proxies = NetworkList::ParseOrThrow(s.trusted_proxies, proxies_place);
  // The setting's allowed values are checked with the configuration.
  ParseProxyHeader(s.proxy_header, &o.proxy_header);
  o.expensive_request_cost = s.expensive_request_cost;
  o.burst_seconds = s.burst_seconds;
  o.anonymous_limit = o.MakeLimit(s.rate_limit_anonymous);
  o.per_address_limit = o.MakeLimit(s.rate_limit_per_address);
  o.client_limit = o.MakeLimit(s.rate_limit_client);
  o.operator_limit = o.MakeLimit(s.rate_limit_operator);
  o.admin_limit = o.MakeLimit(s.rate_limit_admin);
  o.auth_failure_limit = RateLimit{static_cast<double>(s.auth_failures_per_minute) / 60.0,
                                   static_cast<double>(s.auth_failures_per_minute)};
  o.refresh_interval = std::chrono::milliseconds(s.refresh_ms);
  o.usage_flush_interval = std::chrono::seconds(s.usage_flush_s);
  o.audit_interval = std::chrono::seconds(s.audit_interval_s);
  return o;
}

}  // namespace

SecurityOptions SecurityOptions::FromConfiguration(const Configuration& config) {
  return Build(
      config.settings(), DescribeOrigin(config.OriginOf("security.allow")) + ": security.allow",
      DescribeOrigin(config.OriginOf("security.trusted_proxies")) + ": security.trusted_proxies");
}

SecurityOptions SecurityOptions::FromSettings(const Settings& settings) {
  return Build(settings, "security.allow", "security.trusted_proxies");
}

RateLimit SecurityOptions::MakeLimit(double rate, std::optional<double> burst) const {
  if (rate <= 0) return RateLimit{0, 1};
  return RateLimit{rate, burst ? *burst : std::max(1.0, std::floor(rate * burst_seconds))};
}

RateLimit SecurityOptions::KeyLimit(Role role, const std::optional<double>& rate,
                                    const std::optional<double>& burst) const {
  if (!rate && !burst) return RoleLimit(role);
  return MakeLimit(rate.value_or(RoleLimit(role).rate), burst);
}

const RateLimit& SecurityOptions::RoleLimit(Role role) const {
  switch (role) {
    case Role::kAdmin:
      return admin_limit;
    case Role::kOperator:
      return operator_limit;
    default:
      return client_limit;
  }
}

}  // namespace chatbot::security
