#include "server/model_registry.h"

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "dialogue/chat_service.h"
#include "nlu/classifier_loader.h"
#include "nlu/model_manifest.h"

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
    const nlu::TrainingData domain = dialogue::DomainFor(settings_, snapshot->models);
    snapshot->dialogue = dialogue::LoadDialogueEngine(settings_, domain);
    snapshot->bot = BuildBotProfile(settings_.bot, domain);
    snapshot->loaded_at = UtcTimestamp();
    for (const nlu::IntentClassifier* model : snapshot->Parts()) {
      AppLog()->info("model {} {} loaded from {}", model->kind(), model->version(),
                     snapshot->directory.string());
    }
    AppLog()->info("answering with the {} model", snapshot->models.kind);
    current_.store(std::move(snapshot));
    last_error_.clear();
  } catch (const std::exception& e) {
    last_error_ = WithoutSourceLocation(e.what());
    AppLog()->error("model reload refused: {}", last_error_);
    throw;
  }
}

std::string ModelRegistry::State() const {
  if (Current()) return "loaded";
  const std::filesystem::path dir = settings_.paths.models;
  std::error_code ignored;
  const bool present = std::filesystem::exists(dir / nlu::kSvmDirectory, ignored) ||
                       std::filesystem::exists(dir / nlu::kBertDirectory, ignored);
  return present ? "damaged" : "missing";
}

std::string ModelRegistry::last_error() const {
  std::lock_guard lock(reload_mutex_);
  return last_error_;
}

}  // namespace chatbot::server
