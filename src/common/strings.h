// Small text helpers shared by the parsers of headers, configuration
// values and tool output, and by the text reports the commands print.
#ifndef CHATBOT_COMMON_STRINGS_H_
#define CHATBOT_COMMON_STRINGS_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace chatbot {

// `text` without leading and trailing characters from `blanks`.
std::string_view Trim(std::string_view text, std::string_view blanks = " \t");

// `text` cut at every `separator`, each piece trimmed of `blanks`; an empty
// text gives one empty piece.
std::vector<std::string_view> SplitTrimmed(std::string_view text, char separator,
                                           std::string_view blanks = " \t");

// A size for a person: "512 B", "1.5 KiB", "3.2 MiB", "1.25 GiB".
std::string HumanBytes(uint64_t bytes);

// The names separated by ", ".
std::string JoinNames(const std::vector<std::string>& names);

// printf onto the end of `out`, whatever the length (for column-aligned
// reports).
template <typename... Args>
void AppendPrintf(std::string* out, const char* format, Args... args) {
  const int length = std::snprintf(nullptr, 0, format, args...);
  if (length <= 0) return;
  const size_t end = out->size();
  out->resize(end + static_cast<size_t>(length) + 1);
  std::snprintf(out->data() + end, static_cast<size_t>(length) + 1, format, args...);
  out->resize(end + static_cast<size_t>(length));
}

}  // namespace chatbot

#endif  // CHATBOT_COMMON_STRINGS_H_
