// Durations as people type them, with one grammar for the configuration,
// the CLI and the admin API: a whole number followed by one unit, s, m, h,
// d or w ("45s", "30m", "24h", "90d", "2w"); no signs, spaces, decimals or
// other units, and at most 36500 days.
#ifndef CHATBOT_COMMON_DURATION_H_
#define CHATBOT_COMMON_DURATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot {

// The longest duration accepted, as for sessions.retention_days.
inline constexpr int64_t kMaxDurationMs = int64_t{36500} * 86400 * 1000;

// `text` in milliseconds. Zero ("0d") is accepted only when `allow_zero`.
// nullopt when malformed, with `*error` (when given) set to a sentence that
// quotes the text.
std::optional<int64_t> ParseDurationMs(std::string_view text, bool allow_zero = false,
                                       std::string* error = nullptr);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_DURATION_H_
