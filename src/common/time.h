// Wall-clock time as the product reads and writes it: Unix milliseconds for
// storage and arithmetic, ISO-8601 UTC text for people, manifests and JSON,
// and the HTTP date format for headers.
#ifndef CHATBOT_COMMON_TIME_H_
#define CHATBOT_COMMON_TIME_H_

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace chatbot {

// Unix time in milliseconds, from the system clock.
int64_t NowMs();

// `seconds` (Unix time) in UTC through strftime's `format`.
std::string FormatUtc(std::time_t seconds, const char* format);

// "2026-11-29T00:27:47Z": the current time, to the second (manifests,
// backups, model load times).
std::string UtcTimestamp();

// "2026-11-29T01:00:00.000Z": a Unix time in milliseconds (JSON, the CLI,
// the audit log). Times before 1970 are floored to the millisecond.
std::string FormatTimestamp(int64_t unix_ms);

// "Sun, 29 Nov 2026 00:27:47 GMT" (Date and Last-Modified headers).
std::string HttpDate(std::time_t seconds);

// "2026-11-29T00:27:47Z" -> Unix seconds; nullopt when malformed.
std::optional<int64_t> ParseUtcTimestamp(const std::string& text);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_TIME_H_
