#include "server/bot_profile.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>

#include "dialogue/response_template.h"

namespace chatbot::server {

namespace {

// Short questions are mostly small talk ("are you a robot?"); a suggestion
// should show what the bot is for.
constexpr size_t kMinWords = 5;

size_t Words(const std::string& text) {
  size_t words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = std::isspace(c) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

BotProfile BuildBotProfile(const Settings::Bot& bot, const nlu::TrainingData& domain,
                           size_t count) {
  BotProfile profile;
  profile.name = bot.name;
  profile.notice = bot.notice;
  const dialogue::TemplateVariables variables = dialogue::VariablesFromSettings(bot);
  for (const nlu::IntentDefinition& intent : domain.intents) {
    if (intent.name == "greeting" && !intent.responses.empty()) {
      profile.greeting = dialogue::RenderTemplate(intent.responses.front(), variables);
    }
  }
  // The first question-shaped example of each intent, in the domain's order.
  std::map<std::string, std::string> question_of;
  std::vector<std::string> order;
  for (const nlu::TrainingExample& example : domain.examples) {
    if (example.intent == "oos" || question_of.count(example.intent) != 0) continue;
    const std::string& text = example.text;
    if (text.empty() || text.back() != '?' || Words(text) < kMinWords) continue;
    std::string question = text;
    question[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(question[0])));
    question_of[example.intent] = question;
    order.push_back(example.intent);
  }
  // Spread over the domain, so that the suggestions show its breadth.
  const size_t n = std::min(count, order.size());
  for (size_t i = 0; i < n; ++i) {
    profile.suggestions.push_back(question_of[order[i * order.size() / n]]);
  }
  return profile;
}

boost::json::object BotProfileJson(const BotProfile& profile) {
  boost::json::object out{{"name", profile.name}, {"greeting", profile.greeting}};
  out["suggestions"] = boost::json::array(profile.suggestions.begin(), profile.suggestions.end());
  if (profile.notice.empty()) {
    out["notice"] = nullptr;
  } else {
    out["notice"] = profile.notice;
  }
  return out;
}

}  // namespace chatbot::server
