// What a front end shows before the first message (the server's GET /v1/bot,
// public like /health, and the desktop client's local mode): the bot's name
// ([bot] name), its opening greeting (the domain's first "greeting" reply,
// rendered), a few suggested questions drawn from the domain's intents, and
// the service notice ([bot] notice) when one is set.
// Built once per model load, with the domain data the dialogue uses.
#ifndef CHATBOT_DIALOGUE_BOT_PROFILE_H_
#define CHATBOT_DIALOGUE_BOT_PROFILE_H_

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/config.h"
#include "nlu/training_data.h"

namespace chatbot::dialogue {

struct BotProfile {
  std::string name;
  std::string greeting;
  std::vector<std::string> suggestions;
  std::string notice;
};

// Suggestions: one question (the first example of at least four words that
// starts with a question word, capitalised, with a question mark) from each
// of up to `count` intents spread evenly over the domain's intents; small
// talk, yes/no, feedback and "oos" are left out.
BotProfile BuildBotProfile(const Settings::Bot& bot, const nlu::TrainingData& domain,
                           size_t count = 4);

// {"name", "greeting", "suggestions", "notice"} (notice null when unset).
boost::json::object BotProfileJson(const BotProfile& profile);

}  // namespace chatbot::dialogue

#endif  // CHATBOT_DIALOGUE_BOT_PROFILE_H_
