// Small text helpers shared by the parsers of headers, configuration
// values and tool output.
#ifndef CHATBOT_COMMON_STRINGS_H_
#define CHATBOT_COMMON_STRINGS_H_

#include <string_view>
#include <vector>

namespace chatbot {

// `text` without leading and trailing characters from `blanks`.
std::string_view Trim(std::string_view text, std::string_view blanks = " \t");

// `text` cut at every `separator`, each piece trimmed of `blanks`; an empty
// text gives one empty piece.
std::vector<std::string_view> SplitTrimmed(std::string_view text, char separator,
                                           std::string_view blanks = " \t");

}  // namespace chatbot

#endif  // CHATBOT_COMMON_STRINGS_H_
