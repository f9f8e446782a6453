// ASCII helpers for protocol text (HTTP header values, tokens, parameter
// names): such text is ASCII, separated by spaces and tabs, and compared
// without regard to the case of letters.
#ifndef CHATBOT_COMMON_ASCII_TEXT_H_
#define CHATBOT_COMMON_ASCII_TEXT_H_

#include <string_view>

namespace chatbot {

// Without the spaces and tabs at either end.
inline std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

inline char LowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `text` begins with `lower_prefix` (given in lower case), ignoring
// the case of ASCII letters in `text`.
inline bool StartsWithIgnoringCase(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    if (LowerAscii(text[i]) != lower_prefix[i]) return false;
  }
  return true;
}

inline bool EqualsIgnoringCase(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() && StartsWithIgnoringCase(text, lower);
}

}  // namespace chatbot

#endif  // CHATBOT_COMMON_ASCII_TEXT_H_
