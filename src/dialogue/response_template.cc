#include "dialogue/response_template.h"

namespace chatbot::dialogue {

TemplateVariables VariablesFromSettings(const Settings::Bot& bot) {
  return {{"bot_name", bot.name},
          {"support_email", bot.support_email},
          {"support_phone", bot.support_phone},
          {"opening_hours", bot.opening_hours},
          {"returns_days", std::to_string(bot.returns_days)}};
}

std::string RenderTemplate(std::string_view text, const TemplateVariables& variables) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const size_t close = text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const auto it = variables.find(text.substr(open + 1, close - open - 1));
    if (it != variables.end()) {
      out += it->second;
    } else {
      out.append(text.substr(open, close - open + 1));
    }
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace chatbot::dialogue
