#include "server/model_registry.h"

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "dialogue/chat_models.h"
#include "nlu/classifier_loader.h"
#include "nlu/model_manifest.h"

namespace chatbot::server {

ModelRegistry::ModelRegistry(const Settings& settings, nlu::ClassifierLoadOptions load)
    : settings_(settings), load_(std::move(load)) {}

void ModelRegistry::Reload(bool publish) {
  std::unique_lock lock(reload_mutex_);
  std::shared_ptr<const ModelSnapshot> published;
  try {
    auto snapshot = std::make_shared<ModelSnapshot>();
    snapshot->directory = settings_.paths.models;
    dialogue::LoadedChatModels loaded = dialogue::LoadChatModels(settings_, load_);
    snapshot->models = std::move(loaded.classifier);
    snapshot->dialogue = std::move(loaded.engine);
    snapshot->bot = std::move(loaded.bot);
    snapshot->precision = load_.bert.precision;
    snapshot->loaded_at = UtcTimestamp();
    for (const nlu::IntentClassifier* model : snapshot->Parts()) {
      AppLog()->info("model {} {} loaded from {}", model->kind(), model->version(),
                     snapshot->directory.string());
    }
    AppLog()->info("answering with the {} model", snapshot->models.kind);
    current_.store(snapshot);
    last_error_.clear();
    published = std::move(snapshot);
  } catch (const std::exception& e) {
    last_error_ = WithoutSourceLocation(e.what());
    AppLog()->error("model reload refused: {}", last_error_);
    throw;
  }
  lock.unlock();
  if (publish && on_published_) on_published_(*published);
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
