// Replies written in the domain files may contain variables such as
// {bot_name}; they are filled from configuration when a reply is sent.
#ifndef CHATBOT_DIALOGUE_RESPONSE_TEMPLATE_H_
#define CHATBOT_DIALOGUE_RESPONSE_TEMPLATE_H_

#include <map>
#include <string>
#include <string_view>

#include "common/config.h"

namespace chatbot::dialogue {

using TemplateVariables = std::map<std::string, std::string, std::less<>>;

// {bot_name}, {support_email}, {support_phone}, {opening_hours},
// {returns_days} from the [bot] settings.
TemplateVariables VariablesFromSettings(const Settings::Bot& bot);

// Replaces each {name} with its value. An unknown {name} is left as written,
// so a typo in a domain file shows up in the reply instead of vanishing.
std::string RenderTemplate(std::string_view text, const TemplateVariables& variables);

}  // namespace chatbot::dialogue

#endif  // CHATBOT_DIALOGUE_RESPONSE_TEMPLATE_H_
