// `chatbot evaluate`: parse, run the evaluation (nlu/evaluation_run.h),
// print the report.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/progress_reporter.h"
#include "common/atomic_file.h"
#include "nlu/evaluation_report.h"
#include "nlu/evaluation_run.h"

namespace chatbot::cli {
namespace {

struct EvaluateArgs {
  std::string data;
  std::string model;         // svm|bert|use|ensemble; empty: [nlu] model
  int cross_validation = 0;  // K > 0: K-fold cross-validation on `data`
  bool json = false;
  std::string report;  // HTML report path
};

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

  std::fputs(nlu::TitledReport(report, title, args.json).c_str(), stdout);
  if (!args.report.empty()) {
    WriteFileAtomically(args.report, nlu::RenderHtmlReport(report, title));
    std::fprintf(stderr, "report written to %s\n", args.report.c_str());
  }
  return kExitOk;
}

}  // namespace

void AddEvaluateCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand(
      "evaluate", "Score the saved model on labelled data, or cross-validate training on it");
  cmd->add_option("--data", args->data, "Labelled data (YAML or JSONL)")->required();
  cmd->add_option("--cross-validation", args->cross_validation,
                  "K-fold cross-validation of training on --data instead")
      ->check(CLI::Range(2, 20));
  cmd->add_option("--model", args->model, "svm, bert, use or ensemble (default: [nlu] model)")
      ->check(CLI::IsMember({"auto", "svm", "bert", "use", "ensemble"}));
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->add_option("--report", args->report, "Also write an HTML report with the confusion matrix");
  OnParse(cmd, run, [&global, args] { return RunEvaluate(global, *args); });
}

}  // namespace chatbot::cli
