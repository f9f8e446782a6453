// The models the service answers with, and their hot reload.
//
// The loaded model and the dialogue engine built from its replies (those its
// model directory carries, else [paths] data's) form one immutable snapshot held by shared_ptr. A
// request takes the current snapshot once and uses it to the end, so a reload (POST
// /v1/model/reload or SIGHUP) swaps in a new snapshot atomically while
// in-flight requests finish on the old one, and no request fails. A model
// that does not load and verify is refused and the old one keeps serving.
#ifndef CHATBOT_SERVER_MODEL_REGISTRY_H_
#define CHATBOT_SERVER_MODEL_REGISTRY_H_

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "dialogue/bot_profile.h"
#include "dialogue/dialogue_engine.h"
#include "nlu/classifier_loader.h"

namespace chatbot::server {

struct ModelSnapshot {
  nlu::LoadedClassifier models;  // the answering classifier and its parts
  std::shared_ptr<const dialogue::DialogueEngine> dialogue;
  std::string loaded_at;            // UTC timestamp
  std::filesystem::path directory;  // the models directory
  bert::Precision precision = bert::Precision::kF32;
  dialogue::BotProfile bot;  // GET /v1/bot, from the same domain data as `dialogue`

  const nlu::IntentClassifier& classifier() const { return *models.classifier; }
  // The models loaded (the SVM, BERT, or both), for status pages.
  std::vector<const nlu::IntentClassifier*> Parts() const {
    std::vector<const nlu::IntentClassifier*> parts;
    if (models.svm) parts.push_back(models.svm.get());
    if (models.bert) parts.push_back(models.bert.get());
    return parts;
  }
};

class ModelRegistry {
 public:
  // `load` says which model answers and how BERT is served.
  ModelRegistry(const Settings& settings, nlu::ClassifierLoadOptions load);

  // Loads the model and the domain's replies and swaps them in. Throws
  // ModelError / DataError (the current snapshot, if any, stays). With
  // `publish` (a reload asked of this instance: POST /v1/model/reload,
  // SIGHUP), on_published runs after a success, for the cluster to follow
  // (server/cluster_sync.h); a reload that follows the cluster passes false.
  void Reload(bool publish = true);

  // Set before serving; called on the reloading thread.
  using OnPublished = std::function<void(const ModelSnapshot& snapshot)>;
  void set_on_published(OnPublished on_published) { on_published_ = std::move(on_published); }

  // The current snapshot, or null when no model was ever loaded.
  std::shared_ptr<const ModelSnapshot> Current() const { return current_.load(); }

  // Why the last Reload failed, or "" after a success. For the log and the
  // operator-only model endpoints: it names files.
  std::string last_error() const;

  // For public answers, which must not name files: "loaded" (a model
  // serves), "missing" (none was trained into the models directory) or
  // "damaged" (one is there but did not load).
  std::string State() const;

 private:
  Settings settings_;
  nlu::ClassifierLoadOptions load_;
  std::atomic<std::shared_ptr<const ModelSnapshot>> current_;
  mutable std::mutex reload_mutex_;  // one reload at a time
  std::string last_error_;
  OnPublished on_published_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_MODEL_REGISTRY_H_
