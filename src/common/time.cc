#include "common/time.h"

#include <chrono>
#include <cstdio>

namespace chatbot {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatUtc(std::time_t seconds, const char* format) {
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  const size_t length = std::strftime(text, sizeof text, format, &utc);
  return std::string(text, length);
}

std::string UtcTimestamp() {
  return FormatUtc(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()),
                   "%Y-%m-%dT%H:%M:%SZ");
}

std::string FormatTimestamp(int64_t unix_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_ms);
  char text[48];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return text;
}

std::string HttpDate(std::time_t seconds) {
  return FormatUtc(seconds, "%a, %d %b %Y %H:%M:%S GMT");
}

std::optional<int64_t> ParseUtcTimestamp(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace chatbot
