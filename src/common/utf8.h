// UTF-8 well-formedness (the Unicode Standard, Table 3-7: no overlongs,
// surrogates or values above U+10FFFF), shared by everything that must refuse
// or repair ill-formed text: configuration values, training data, intent
// names, request texts, and the text normaliser.
#ifndef CHATBOT_COMMON_UTF8_H_
#define CHATBOT_COMMON_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace chatbot {

// True when `text` is well-formed UTF-8. When false and `error_offset` is
// given, it receives the byte offset of the first bad sequence.
bool IsValidUtf8(std::string_view text, size_t* error_offset = nullptr);

// Copies `text` into `*out` with every ill-formed subpart replaced by U+FFFD,
// one per maximal subpart (the Standard's recommended practice).
void RepairUtf8(std::string_view text, std::string* out);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_UTF8_H_
