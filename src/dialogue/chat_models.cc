#include "dialogue/chat_models.h"

#include "nlu/training_data.h"

namespace chatbot::dialogue {

LoadedChatModels LoadChatModels(const Settings& settings,
                                const nlu::ClassifierLoadOptions& options) {
  LoadedChatModels loaded;
  loaded.classifier = nlu::LoadClassifier(settings.paths.models, options);
  const nlu::TrainingData domain = DomainFor(settings, loaded.classifier);
  loaded.engine = LoadDialogueEngine(settings, domain);
  loaded.bot = BuildBotProfile(settings.bot, domain);
  return loaded;
}

}  // namespace chatbot::dialogue
