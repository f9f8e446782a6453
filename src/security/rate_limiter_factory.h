// The rate limiter the service runs with, chosen by [security]
// rate_limit_backend: the in-process LocalRateLimiter, or the
// RedisRateLimiter shared by every instance that uses the same Redis
// (redis_rate_limiter.h), configured from the rate_limit_redis_* settings.
#ifndef CHATBOT_SECURITY_RATE_LIMITER_FACTORY_H_
#define CHATBOT_SECURITY_RATE_LIMITER_FACTORY_H_

#include <memory>

#include "common/config.h"
#include "security/rate_limiter.h"
#include "security/redis_rate_limiter.h"

namespace chatbot::security {

// The Redis limiter's options from the settings: the URL parsed, the
// password read from rate_limit_redis_password_file when one is named.
// Throws ConfigError (a malformed URL) or IoError (an unreadable file).
RedisRateLimiterOptions RedisOptionsFromSettings(const Settings& settings);

// `registry` (optional, not owned) receives the Redis limiter's metrics and
// must outlive the limiter. A Redis that cannot be reached does not stop
// the start: the limiter follows its down policy until Redis answers.
std::unique_ptr<RateLimiter> MakeRateLimiter(const Settings& settings,
                                             metrics::MetricsRegistry* registry = nullptr);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_RATE_LIMITER_FACTORY_H_
