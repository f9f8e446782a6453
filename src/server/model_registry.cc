#include "server/model_registry.h"

#include "common/error.h"
#include "common/logging.h"
#include "nlu/model_manifest.h"
#include "nlu/training_data.h"

namespace chatbot::server {

ModelRegistry::ModelRegistry(const Settings& settings, nlu::ClassifierLoadOptions load)
    : settings_(settings), load_(std::move(load)) {}

void ModelRegistry::Reload() {
  std::lock_guard lock(reload_mutex_);
  try {
    auto snapshot = std::make_shared<ModelSnapshot>();
    snapshot->directory = settings_.paths.models;
    snapshot->models = nlu::LoadClassifier(snapshot->directory, load_);
    snapshot->precision = load_.bert.precision;
    const nlu::TrainingData domain = nlu::LoadTrainingData(std::vector<std::filesystem::path>(
        settings_.paths.data.begin(), settings_.paths.data.end()));
    dialogue::DialogueOptions options;
    options.ambiguity_margin = settings_.dialogue.ambiguity_margin;
    options.min_clarify_confidence = settings_.dialogue.min_clarify_confidence;
    snapshot->dialogue = std::make_shared<dialogue::DialogueEngine>(
        domain.intents, dialogue::VariablesFromSettings(settings_.bot), options);
    snapshot->bot = BuildBotProfile(settings_.bot, domain);
    snapshot->loaded_at = nlu::UtcTimestamp();
    for (const nlu::IntentClassifier* model : snapshot->Parts()) {
      AppLog()->info("model {} {} loaded from {}", model->kind(), model->version(),
                     snapshot->directory.string());
    }
    AppLog()->info("answering with the {} model", snapshot->models.kind);
    current_.store(std::move(snapshot));
    last_error_.clear();
  } catch (const std::exception& e) {
    last_error_ = e.what();
    AppLog()->error("model reload refused: {}", e.what());
    throw;
  }
}

std::string ModelRegistry::last_error() const {
  std::lock_guard lock(reload_mutex_);
  return last_error_;
}

}  // namespace chatbot::server
