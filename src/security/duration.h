// Durations and times as people type and read them: "90d", "24h", "30m",
// "45s", "2w" for expiry and grace periods; ISO-8601 UTC for timestamps in
// JSON, the CLI and the audit log.
#ifndef CHATBOT_SECURITY_DURATION_H_
#define CHATBOT_SECURITY_DURATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot::security {

// A positive whole number followed by s, m, h, d or w, in milliseconds; "0s"
// and friends are allowed only when `allow_zero`. nullopt when malformed or
// longer than 100 years.
std::optional<int64_t> ParseDurationMs(std::string_view text, bool allow_zero = false);

// "2026-11-29T01:00:00.000Z".
std::string FormatTimestamp(int64_t unix_ms);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_DURATION_H_
