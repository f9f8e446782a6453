// Everything that answers turns, loaded together: the classifier from the
// models directory ([paths] models, through nlu/classifier_loader.h) and,
// from the replies the model carries (else [paths] data's; DomainFor in
// chat_service.h), the dialogue engine and the bot's welcome. The server (at start and on every
// reload), `chatbot chat` and the desktop client's local mode load through here, so that they
// answer alike.
#ifndef CHATBOT_DIALOGUE_CHAT_MODELS_H_
#define CHATBOT_DIALOGUE_CHAT_MODELS_H_

#include <memory>

#include "common/config.h"
#include "dialogue/bot_profile.h"
#include "dialogue/chat_service.h"
#include "dialogue/dialogue_engine.h"
#include "nlu/classifier_loader.h"

namespace chatbot::dialogue {

struct LoadedChatModels {
  nlu::LoadedClassifier classifier;  // what classifies, and its parts
  std::shared_ptr<const DialogueEngine> engine;
  BotProfile bot;  // from the same domain data as `engine`

  // What ChatService::Reply takes; valid while this object lives.
  ChatModels models() const { return {*classifier.classifier, *engine}; }
};

// Loads the classifier from `settings.paths.models` as `options` say, then
// its domain (DomainFor). Throws ModelError (no model, a damaged one: the message names
// the file), DataError (the domain) or ConfigError.
LoadedChatModels LoadChatModels(const Settings& settings,
                                const nlu::ClassifierLoadOptions& options);

}  // namespace chatbot::dialogue

#endif  // CHATBOT_DIALOGUE_CHAT_MODELS_H_
