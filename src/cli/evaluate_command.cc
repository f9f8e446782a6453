// `chatbot evaluate`: scores the saved model on a data file, or
// cross-validates the configured training on it.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/progress_reporter.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/logging.h"
#include "nlu/classifier_loader.h"
#include "nlu/evaluation.h"
#include "nlu/evaluation_report.h"
#include "nlu/training_data.h"

namespace chatbot::cli {

int RunEvaluate(const GlobalOptions& global, const EvaluateArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  nlu::LoadOptions load;
  load.training = args.cross_validation > 0;
  const nlu::TrainingData data = nlu::LoadTrainingData({args.data}, load);

  nlu::EvaluationReport report;
  std::string title;
  if (args.cross_validation > 0) {
    const nlu::SvmTrainingOptions options = nlu::SvmOptionsFromSettings(settings);
    ProgressReporter progress;
    int fold = 0;
    const auto start = std::chrono::steady_clock::now();
    report = nlu::CrossValidate(
        data.examples, args.cross_validation, options.seed,
        [&](const std::vector<nlu::TrainingExample>& train) {
          nlu::SvmTrainingResult result = nlu::TrainSvmModel(train, {}, options);
          const double elapsed =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          progress.Update("cross-validation", ++fold, args.cross_validation, "folds", elapsed);
          return std::unique_ptr<nlu::IntentClassifier>(std::move(result.model));
        });
    progress.Finish();
    title = std::to_string(args.cross_validation) + "-fold cross-validation on " + args.data;
  } else {
    const nlu::LoadedClassifier loaded =
        nlu::LoadClassifier(settings.paths.models,
                            nlu::LoadOptionsFromSettings(settings, /*serving=*/false, args.model));
    report = nlu::Evaluate(*loaded.classifier, data.examples);
    title = loaded.kind + " model " + loaded.classifier->version() + " on " + args.data;
  }
  AppLog()->info("evaluation: {}: accuracy {:.4f}, in-scope accuracy {:.4f}, oos recall {:.4f}",
                 title, report.accuracy, report.in_scope_accuracy, report.oos_recall);

  if (args.json) {
    boost::json::object out = nlu::ReportToJson(report);
    out["title"] = title;
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else {
    std::printf("%s\n\n%s\n", title.c_str(), nlu::FormatReport(report).c_str());
  }
  if (!args.report.empty()) {
    WriteFileAtomically(args.report, nlu::RenderHtmlReport(report, title));
    std::fprintf(stderr, "report written to %s\n", args.report.c_str());
  }
  return kExitOk;
}

}  // namespace chatbot::cli
