#include "nlu/evaluation_run.h"

#include <chrono>

#include "common/logging.h"
#include "nlu/classifier_loader.h"
#include "nlu/settings_options.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {

EvaluationRunResult RunEvaluation(const Settings& settings, const EvaluationRunOptions& options) {
  LoadOptions load;
  load.training = options.cross_validation > 0;
  const TrainingData data = LoadTrainingData({options.data}, load);

  EvaluationRunResult result;
  if (options.cross_validation > 0) {
    const SvmTrainingOptions svm = SvmOptionsFromSettings(settings);
    int fold = 0;
    const auto start = std::chrono::steady_clock::now();
    result.report = CrossValidate(
        data.examples, options.cross_validation, svm.seed,
        [&](const std::vector<TrainingExample>& train) {
          SvmTrainingResult trained = TrainSvmModel(train, {}, svm);
          const double elapsed =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          if (options.fold_done) options.fold_done(++fold, options.cross_validation, elapsed);
          return std::unique_ptr<IntentClassifier>(std::move(trained.model));
        });
    result.title =
        std::to_string(options.cross_validation) + "-fold cross-validation on " + options.data;
  } else {
    const LoadedClassifier loaded = LoadClassifier(
        settings.paths.models, LoadOptionsFromSettings(settings, /*serving=*/false, options.model));
    result.report = Evaluate(*loaded.classifier, data.examples);
    result.title = loaded.kind + " model " + loaded.classifier->version() + " on " + options.data;
  }
  AppLog()->info("evaluation: {}: accuracy {:.4f}, in-scope accuracy {:.4f}, oos recall {:.4f}",
                 result.title, result.report.accuracy, result.report.in_scope_accuracy,
                 result.report.oos_recall);
  return result;
}

}  // namespace chatbot::nlu
