#include "cli/duration_arg.h"

#include <fmt/core.h>

namespace chatbot::cli {

// "30d" -> milliseconds: a whole number then one unit (s, m, h, d, w),
// nothing else. nullopt with `*error` set when malformed.
std::optional<int64_t> ParseDurationMs(std::string_view text, std::string* error) {
  const std::string quoted = fmt::format("'{}'", text);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits + 1 != text.size()) {
    *error = quoted +
             " is not a duration: expected a whole number followed by s, m, h, d or w, "
             "e.g. 30d";
    return std::nullopt;
  }
  int64_t unit_ms = 0;
  switch (text.back()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60 * 1000;
      break;
    case 'h':
      unit_ms = 3600 * 1000;
      break;
    case 'd':
      unit_ms = 86400 * 1000;
      break;
    case 'w':
      unit_ms = 7 * 86400 * 1000;
      break;
    default:
      *error = quoted + ": unknown unit '" + std::string(1, text.back()) + "': use s, m, h, d or w";
      return std::nullopt;
  }
  int64_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    value = value * 10 + (text[i] - '0');
    if (value > kMaxDurationMs / unit_ms) {
      *error = quoted + " is longer than 36500 days";
      return std::nullopt;
    }
  }
  if (value == 0) {
    *error = quoted + " must be longer than zero (it would delete every session)";
    return std::nullopt;
  }
  return value * unit_ms;
}

}  // namespace chatbot::cli
