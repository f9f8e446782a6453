#include "dialogue/bot_profile.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "dialogue/response_template.h"

namespace chatbot::dialogue {

namespace {

// Intents of the conversation itself (small talk, yes/no, feedback), not
// questions a customer comes with: never suggested.
const std::set<std::string, std::less<>> kConversationIntents = {
    "affirm",   "bot_identity", "complaint",     "deny", "feedback", "goodbye",
    "greeting", "help",         "human_handoff", "oos",  "thanks"};

// Words a question starts with.
const std::set<std::string, std::less<>> kQuestionWords = {
    "are", "can",  "could",  "do",   "does",  "has",   "have", "how",
    "is",  "what", "what's", "when", "where", "which", "why",  "will"};

constexpr size_t kMinWords = 4;

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return words;
}

// "where is my order" -> "Where is my order?"; nullopt for what does not
// read as a question of a few words.
std::optional<std::string> AsQuestion(const std::string& text) {
  const std::vector<std::string> words = Words(text);
  if (words.size() < kMinWords || kQuestionWords.count(words.front()) == 0) return std::nullopt;
  std::string question = text;
  while (!question.empty() && std::isspace(static_cast<unsigned char>(question.back())) != 0) {
    question.pop_back();
  }
  question[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(question[0])));
  if (question.back() != '?') question += '?';
  return question;
}

}  // namespace

BotProfile BuildBotProfile(const Settings::Bot& bot, const nlu::TrainingData& domain,
                           size_t count) {
  BotProfile profile;
  profile.name = bot.name;
  profile.notice = bot.notice;
  const TemplateVariables variables = VariablesFromSettings(bot);
  for (const nlu::IntentDefinition& intent : domain.intents) {
    if (intent.name == "greeting" && !intent.responses.empty()) {
      profile.greeting = RenderTemplate(intent.responses.front(), variables);
    }
  }
  // The first question-shaped example of each intent, in the domain's order.
  std::map<std::string, std::string> question_of;
  std::vector<std::string> order;
  for (const nlu::TrainingExample& example : domain.examples) {
    if (kConversationIntents.count(example.intent) != 0 || question_of.count(example.intent) != 0) {
      continue;
    }
    if (std::optional<std::string> question = AsQuestion(example.text)) {
      question_of[example.intent] = *question;
      order.push_back(example.intent);
    }
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

}  // namespace chatbot::dialogue
