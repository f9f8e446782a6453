// `chatbot train`: loads the data, trains, saves model/<kind>/ atomically,
// and records the run in logs/training.log.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/progress_reporter.h"
#include "common/error.h"
#include "common/logging.h"
#include "nlu/evaluation_report.h"
#include "nlu/model_manifest.h"
#include "nlu/training_data.h"

namespace chatbot::cli {
namespace {

std::vector<std::filesystem::path> ToPaths(const std::vector<std::string>& strings) {
  return {strings.begin(), strings.end()};
}

boost::json::object Hyperparameters(const nlu::SvmTrainingOptions& o) {
  return {{"c", o.svm.c},
          {"epsilon", o.svm.epsilon},
          {"solver", o.svm.solver == nlu::SvmSolver::kNative ? "native" : "liblinear"},
          {"word_ngram_max", o.tfidf.ngrams.word_ngram_max},
          {"char_ngram_min", o.tfidf.ngrams.char_ngram_min},
          {"char_ngram_max", o.tfidf.ngrams.char_ngram_max},
          {"min_df", o.tfidf.min_df},
          {"sublinear_tf", o.tfidf.sublinear_tf},
          {"strip_accents", o.normalization.strip_accents},
          {"validation_fraction", o.validation_fraction},
          {"refit_with_validation", o.refit_with_validation},
          {"oos_max_in_scope_loss", o.oos_max_in_scope_loss},
          {"seed", o.seed}};
}

}  // namespace

std::string CompactTimestamp(const std::string& iso) {
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

int TrainSvm(const Configuration& config, const TrainArgs& args) {
  const Settings& settings = config.settings();
  auto log = TrainingLog();
  const std::vector<std::string> data_paths = args.data.empty() ? settings.paths.data : args.data;

  const nlu::TrainingData data = nlu::LoadTrainingData(ToPaths(data_paths));
  nlu::TrainingData validation;
  if (!args.validation.empty()) {
    nlu::LoadOptions options;
    options.require_two_examples_per_intent = false;
    validation = nlu::LoadTrainingData({args.validation}, options);
  }
  for (const std::string& warning : data.warnings) log->warn("data: {}", warning);

  const nlu::SvmTrainingOptions options = SvmOptionsFromSettings(settings);
  const boost::json::object hyperparameters = Hyperparameters(options);
  std::vector<std::string> files;
  for (const auto& f : data.files) files.push_back(f.string());
  log->info("training run: model svm, {} examples, {} intents, {} warnings, files: {}",
            data.examples.size(), data.Labels().size(), data.warnings.size(),
            fmt::join(files, ", "));
  log->info("held-out data: {}",
            args.validation.empty()
                ? fmt::format("{:.0f}% stratified split of the training data",
                              options.validation_fraction * 100)
                : fmt::format("{} ({} examples)", args.validation, validation.examples.size()));
  log->info("hyper-parameters: {}", boost::json::serialize(hyperparameters));

  ProgressReporter progress;
  nlu::SvmTrainingResult result = nlu::TrainSvmModel(
      data.examples, validation.examples, options, [&](const nlu::SvmTrainingProgress& p) {
        progress.Update(p.stage, p.done, p.total,
                        p.stage == "svm" || p.stage == "final model" ? "intents" : "steps",
                        p.elapsed_seconds);
      });
  progress.Finish();

  const std::string created_at = nlu::UtcTimestamp();
  const std::string version = CompactTimestamp(created_at) + "-" + result.data_sha256.substr(0, 8);
  result.model->set_version(version);
  boost::json::object heldout = nlu::ReportToJson(result.heldout);
  heldout["source"] = args.validation.empty() ? "split" : args.validation;
  boost::json::array data_files;
  for (const auto& f : data.files) data_files.push_back(boost::json::string(f.string()));
  result.model->set_manifest({
      {"created_at", created_at},
      {"training_data",
       {{"sha256", result.data_sha256},
        {"files", data_files},
        {"examples", data.examples.size()},
        {"intents", data.Labels().size()}}},
      {"hyperparameters", hyperparameters},
      {"heldout_metrics", heldout},
      {"training_seconds", result.seconds},
  });
  const std::filesystem::path dir = SvmModelDir(settings);
  result.model->Save(dir, result.heldout_examples, result.smoke_examples);

  const nlu::EvaluationReport& r = result.heldout;
  const std::string summary = fmt::format(
      "trained svm model {} in {:.2f}s: {} examples, {} intents, {} features; held-out ({} "
      "examples): accuracy {:.2f}%, in-scope accuracy {:.2f}%, out-of-scope recall {:.2f}%, "
      "macro-F1 {:.2f}%{}; temperature {:.4f}, out-of-scope threshold {:.4f}; saved to {}",
      version, result.seconds, data.examples.size(), data.Labels().size(),
      result.model->num_features(), r.examples, r.accuracy * 100, r.in_scope_accuracy * 100,
      r.oos_recall * 100, r.macro_f1 * 100,
      result.refitted ? " (then refitted on training + held-out data)" : "",
      result.model->temperature(), result.model->out_of_scope_threshold(), dir.string());
  log->info("{}", summary);
  AppLog()->info("{}", summary);
  std::printf("%s\n", summary.c_str());
  if (!data.warnings.empty()) {
    std::fprintf(stderr, "%zu data warning(s), see %s/training.log\n", data.warnings.size(),
                 settings.paths.logs.c_str());
  }
  return kExitOk;
}

int RunTrain(const GlobalOptions& global, const TrainArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  if (args.model == "bert") return TrainBert(config, args);
  if (args.model != "svm") {
    throw ConfigError("train --model " + args.model + ": unknown model (svm or bert)");
  }
  return TrainSvm(config, args);
}

}  // namespace chatbot::cli
