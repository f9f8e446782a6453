// Which model answers, and how it is put together: the SVM, BERT or the USE
// model (behind a batching, caching front when serving), or the ensemble of
// the SVM with BERT or USE, as [nlu] model and the models present decide. With both BERT
// and USE present the ensemble takes the one whose ensemble scored the
// better in-scope accuracy on its held-out calibration data. The server, `predict`, `evaluate` and
// `check-model` all load through here, so they answer with the same classifier.
#ifndef CHATBOT_NLU_CLASSIFIER_LOADER_H_
#define CHATBOT_NLU_CLASSIFIER_LOADER_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "nlu/batching_classifier.h"
#include "nlu/bert_intent_model.h"
#include "nlu/caching_classifier.h"
#include "nlu/ensemble_classifier.h"
#include "nlu/svm_intent_model.h"
#include "nlu/use_intent_model.h"

namespace chatbot::nlu {

struct ClassifierLoadOptions {
  std::string model = "auto";  // auto|svm|bert|use|ensemble
  EnsembleMode ensemble_mode = EnsembleMode::kWeighted;
  BertModelOptions bert;
  // Serving: group concurrent BERT or USE requests into batches and cache
  // answers.
  // Off for offline use (evaluate), where batching adds only waiting.
  bool batching = false;
  BatchingOptions batching_options;
};

struct LoadedClassifier {
  std::shared_ptr<const IntentClassifier> classifier;  // what answers
  std::shared_ptr<const SvmIntentModel> svm;           // null when not loaded
  std::shared_ptr<const BertIntentModel> bert;         // null when not loaded
  std::shared_ptr<const UseIntentModel> use;           // null when not loaded
  std::shared_ptr<const BatchingClassifier> batching;  // BERT's or USE's front, when batching
  std::shared_ptr<const EnsembleClassifier> ensemble;  // when the ensemble answers
  // In front of whatever answers when BERT takes part and serving caches.
  std::shared_ptr<const CachingClassifier> cache;
  std::string kind;  // "svm", "bert", "use" or "ensemble"
  // The replies of the data the models were trained on (model_domain.h),
  // from the first loaded model directory that carries them (the SVM's,
  // then BERT's, then USE's); nullopt when none does.
  std::optional<TrainingData> domain;
};

inline constexpr const char* kSvmDirectory = "svm";
inline constexpr const char* kBertDirectory = "bert";

// Whether `models_dir`/<name> holds a model (its manifest exists).
bool ModelPresent(const std::filesystem::path& models_dir, const char* name);

// Loads what `options.model` asks for from `models_dir`. "auto" is the
// ensemble when the SVM and BERT or USE exist, else BERT, USE or the SVM,
// the first that exists. Throws
// ModelError when a model asked for is missing or does not load.
LoadedClassifier LoadClassifier(const std::filesystem::path& models_dir,
                                const ClassifierLoadOptions& options);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_CLASSIFIER_LOADER_H_
