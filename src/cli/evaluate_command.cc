// `chatbot evaluate`: parse, run the evaluation (nlu/evaluation_run.h),
// print the report.
#include <boost/json.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/progress_reporter.h"
#include "common/atomic_file.h"
#include "nlu/evaluation_report.h"
#include "nlu/evaluation_run.h"

namespace chatbot::cli {

int RunEvaluate(const GlobalOptions& global, const EvaluateArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  ProgressReporter progress;
  nlu::EvaluationRunOptions options{args.data, args.model, args.cross_validation, {}};
  options.fold_done = [&progress](int done, int folds, double elapsed) {
    progress.Update("cross-validation", done, folds, "folds", elapsed);
  };
  const auto [report, title] = nlu::RunEvaluation(settings, options);
  progress.Finish();

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
