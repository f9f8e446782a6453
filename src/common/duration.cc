#include "common/duration.h"

namespace chatbot {
namespace {

std::optional<int64_t> Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text, bool allow_zero, std::string* error) {
  const std::string quoted = "'" + std::string(text) + "'";
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits + 1 != text.size()) {
    return Fail(error, quoted +
                           " is not a duration: expected a whole number followed by s, m, h, d "
                           "or w, e.g. 30d");
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
      return Fail(error, quoted + ": unknown unit '" + std::string(1, text.back()) +
                             "': use s, m, h, d or w");
  }
  int64_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    value = value * 10 + (text[i] - '0');
    if (value > kMaxDurationMs / unit_ms) return Fail(error, quoted + " is longer than 36500 days");
  }
  if (value == 0 && !allow_zero) return Fail(error, quoted + " must be longer than zero");
  return value * unit_ms;
}

}  // namespace chatbot
