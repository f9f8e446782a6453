// Durations on the command line: `sessions clean --older-than 30d`,
// `backup --max-age 8w`. A whole number followed by one unit: s, m, h, d or
// w; nothing else (no zero, signs, spaces, decimals or other units), at
// most 36500 days.
#ifndef CHATBOT_CLI_DURATION_ARG_H_
#define CHATBOT_CLI_DURATION_ARG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot::cli {

// The longest duration accepted, as for sessions.retention_days.
inline constexpr int64_t kMaxDurationMs = int64_t{36500} * 86400 * 1000;

// "30d" -> milliseconds; nullopt with `*error` set (a sentence quoting the
// text) when malformed.
std::optional<int64_t> ParseDurationMs(std::string_view text, std::string* error);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_DURATION_ARG_H_
