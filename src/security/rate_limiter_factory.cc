#include "security/rate_limiter_factory.h"

#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::security {

RedisRateLimiterOptions RedisOptionsFromSettings(const Settings& settings) {
  const Settings::Security& s = settings.security;
  RedisRateLimiterOptions options;
  options.endpoint = RedisEndpoint::FromUrl(s.rate_limit_redis_url);
  if (!s.rate_limit_redis_password_file.empty()) {
    std::string password = ReadFile(s.rate_limit_redis_password_file);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    options.endpoint.password = std::move(password);
  }
  options.timeout = std::chrono::milliseconds(s.rate_limit_redis_timeout_ms);
  options.down_policy = ParseRedisDownPolicy(s.rate_limit_redis_down_policy);
  options.instances = s.rate_limit_instances;
  return options;
}

std::unique_ptr<RateLimiter> MakeRateLimiter(const Settings& settings,
                                             metrics::MetricsRegistry* registry) {
  if (settings.security.rate_limit_backend == "redis") {
    return std::make_unique<RedisRateLimiter>(RedisOptionsFromSettings(settings), registry);
  }
  if (settings.security.rate_limit_backend != "local") {
    throw ConfigError("security.rate_limit_backend must be local or redis, not '" +
                      settings.security.rate_limit_backend + "'");
  }
  return std::make_unique<LocalRateLimiter>();
}

}  // namespace chatbot::security
