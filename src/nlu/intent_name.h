// Intent names as people write them: which texts may name an intent, and
// how names (and example texts) are quoted in messages, so that a name with
// unusual characters can neither break a terminal line nor a log line.
#ifndef CHATBOT_NLU_INTENT_NAME_H_
#define CHATBOT_NLU_INTENT_NAME_H_

#include <string>
#include <string_view>

namespace chatbot::nlu {

// Whether `name` may name an intent: non-empty, valid UTF-8, no control
// characters (Unicode category Cc, line and paragraph separators), no white
// space at either end.
bool IsValidIntentName(std::string_view name);

// `text` in single quotes, safe for a terminal or a log line: control
// characters and backslashes are written as escapes (\n, \t, \x1b,
// \u{2028}, \\); everything else, non-ASCII included, stays as it is.
std::string EscapeForDisplay(std::string_view text);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_INTENT_NAME_H_
