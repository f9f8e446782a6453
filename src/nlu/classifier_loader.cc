#include "nlu/classifier_loader.h"

#include "common/error.h"
#include "nlu/model_domain.h"
#include "nlu/model_manifest.h"
#include "nlu/text_normalizer.h"

namespace chatbot::nlu {
namespace fs = std::filesystem;

bool ModelPresent(const fs::path& models_dir, const char* name) {
  std::error_code ignored;
  return fs::exists(models_dir / name / kManifestFile, ignored);
}

LoadedClassifier LoadClassifier(const fs::path& models_dir, const ClassifierLoadOptions& options) {
  const bool svm_present = ModelPresent(models_dir, kSvmDirectory);
  const bool bert_present = ModelPresent(models_dir, kBertDirectory);
  const bool use_present = ModelPresent(models_dir, kUseDirectory);
  std::string kind = options.model;
  if (kind == "auto") {
    kind = svm_present && (bert_present || use_present) ? "ensemble"
           : bert_present                               ? "bert"
           : use_present                                ? "use"
                                                        : "svm";
  }
  if (kind != "svm" && kind != "bert" && kind != "use" && kind != "ensemble") {
    throw ConfigError("nlu.model: unknown model '" + kind + "' (svm, bert, use, ensemble or auto)");
  }
  const bool need_svm = kind == "svm" || kind == "ensemble";
  // The ensemble's partner is BERT or USE, whichever exists; with both, the
  // one whose ensemble scored the better in-scope accuracy on its held-out
  // calibration data (loaded both to compare).
  bool need_bert = kind == "bert" || (kind == "ensemble" && (bert_present || !use_present));
  bool need_use = kind == "use" || (kind == "ensemble" && use_present);
  for (const auto& [needed, present, name] : {std::tuple{need_svm, svm_present, kSvmDirectory},
                                              std::tuple{need_bert, bert_present, kBertDirectory},
                                              std::tuple{need_use, use_present, kUseDirectory}}) {
    if (needed && !present) {
      throw ModelError("the " + kind + " model needs " + (models_dir / name).string() +
                       ", which holds no model (train one with `chatbot train --model " + name +
                       "`)");
    }
  }

  LoadedClassifier loaded;
  loaded.kind = kind;
  if (need_svm) loaded.svm = SvmIntentModel::Load(models_dir / kSvmDirectory);
  if (need_use) {
    loaded.use = UseIntentModel::Load(models_dir / kUseDirectory, options.bert.precision);
  }
  if (need_bert) loaded.bert = BertIntentModel::Load(models_dir / kBertDirectory, options.bert);
  if (kind == "ensemble" && loaded.use && loaded.bert) {
    auto score = [](bool has, const EnsembleCalibration& e) {
      return has ? e.ensemble.in_scope_accuracy : -1.0;
    };
    if (score(loaded.use->has_ensemble_calibration(), loaded.use->ensemble()) >
        score(loaded.bert->has_ensemble_calibration(), loaded.bert->ensemble())) {
      loaded.bert.reset();
      need_bert = false;
    } else {
      loaded.use.reset();
      need_use = false;
    }
  }
  // The neural model (BERT or USE) answers behind the batching front when
  // serving: concurrent requests share one encoder pass, which costs less
  // per text than a pass each.
  std::shared_ptr<const IntentClassifier> neural_front;
  if (need_bert || need_use) {
    neural_front = need_bert ? std::shared_ptr<const IntentClassifier>(loaded.bert)
                             : std::shared_ptr<const IntentClassifier>(loaded.use);
    if (options.batching) {
      BatchingOptions batching = options.batching_options;
      batching.cache_capacity = 0;  // the cache sits in front of what answers (below)
      if (need_bert) {
        const std::shared_ptr<const BertIntentModel> bert = loaded.bert;
        batching.length = [bert](std::string_view text) {
          return static_cast<size_t>(bert->TokenCount(text));
        };
      } else {
        // USE's pass takes about a millisecond: under load its batches fill
        // with the requests that arrive while one runs, and a request alone
        // is answered at once instead of waiting for others (measured:
        // waiting 500 µs added that to a lone request and nothing to
        // throughput).
        batching.max_wait = std::chrono::microseconds(0);
      }
      loaded.batching = std::make_shared<BatchingClassifier>(neural_front, batching);
      neural_front = loaded.batching;
    }
  }
  if (kind == "svm") {
    loaded.classifier = loaded.svm;
  } else if (kind == "bert" || kind == "use") {
    loaded.classifier = neural_front;
  } else {
    const bool has_calibration =
        need_use ? loaded.use->has_ensemble_calibration() : loaded.bert->has_ensemble_calibration();
    EnsembleCalibration calibration;
    if (has_calibration) {
      calibration = need_use ? loaded.use->ensemble() : loaded.bert->ensemble();
    } else {
      // Imported without validation data: equal weights and the SVM's
      // threshold (docs/bert-model.md).
      calibration.svm_weight = 0.5;
      calibration.oos_threshold = loaded.svm->out_of_scope_threshold();
    }
    loaded.ensemble = std::make_shared<EnsembleClassifier>(
        loaded.svm, neural_front, calibration.Options(options.ensemble_mode));
    loaded.classifier = loaded.ensemble;
  }
  for (const auto& [needed, name] :
       {std::pair{need_svm, kSvmDirectory}, std::pair{need_bert, kBertDirectory},
        std::pair{need_use, kUseDirectory}}) {
    if (needed && !loaded.domain) loaded.domain = ReadModelDomain(models_dir / name);
  }
  if ((need_bert || need_use) && options.batching && options.batching_options.cache_capacity > 0) {
    // Texts equal after normalisation (case, width, spacing) get one answer.
    loaded.cache = std::make_shared<CachingClassifier>(
        loaded.classifier, options.batching_options.cache_capacity,
        [normalizer = std::make_shared<TextNormalizer>(NormalizationOptions{})](
            std::string_view text) { return normalizer->Normalize(text); });
    loaded.classifier = loaded.cache;
  }
  return loaded;
}

}  // namespace chatbot::nlu
