#include "cli/cli_app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>

#include "cli/commands.h"
#include "common/error.h"
#include "common/logging.h"

namespace chatbot::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

void AddGlobalOptions(CLI::App& app, GlobalOptions& global) {
  app.add_option("--config", global.config_file,
                 "TOML configuration file (default: $CHATBOT_CONFIG, else config/chatbot.toml "
                 "when present, else embedded defaults)");
  app.add_option("--set", global.sets, "Override a setting: --set section.key=value (repeatable)")
      ->type_name("KEY=VALUE");
  app.add_option("--models", global.models, "Directory of the models (default: model)");
  app.add_option("--log-level", global.log_level, "trace|debug|info|warn|error|critical|off");
}

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"chatbot: an intent-classification chatbot service"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  app.fallthrough();
  GlobalOptions global;
  AddGlobalOptions(app, global);
  std::function<int()> run;

  TrainArgs train;
  auto* train_cmd =
      app.add_subcommand("train", "Train a model and save it under the models directory");
  train_cmd->add_option("--model", train.model, "Which model: svm")->capture_default_str();
  train_cmd->add_option("--data", train.data,
                        "Training data file or directory (repeatable; default: [paths] data)");
  train_cmd->add_option("--validation", train.validation,
                        "Held-out data for calibration and metrics (default: a split of the "
                        "training data)");
  train_cmd->callback([&] { run = [&] { return RunTrain(global, train); }; });

  PredictArgs predict;
  auto* predict_cmd =
      app.add_subcommand("predict", "Predict the intent of each TEXT, or of each line of stdin");
  predict_cmd->add_option("texts", predict.texts, "Texts to classify");
  predict_cmd->add_flag("--json", predict.json, "One JSON object per input");
  predict_cmd->add_option("--top-k", predict.top_k, "Entries in the ranking")
      ->check(CLI::Range(1, 50));
  predict_cmd->callback([&] { run = [&] { return RunPredict(global, predict); }; });

  EvaluateArgs evaluate;
  auto* evaluate_cmd = app.add_subcommand(
      "evaluate", "Score the saved model on labelled data, or cross-validate training on it");
  evaluate_cmd->add_option("--data", evaluate.data, "Labelled data (YAML or JSONL)")->required();
  evaluate_cmd
      ->add_option("--cross-validation", evaluate.cross_validation,
                   "K-fold cross-validation of training on --data instead")
      ->check(CLI::Range(2, 20));
  evaluate_cmd->add_flag("--json", evaluate.json, "Print the report as JSON");
  evaluate_cmd->add_option("--report", evaluate.report,
                           "Also write an HTML report with the confusion matrix");
  evaluate_cmd->callback([&] { run = [&] { return RunEvaluate(global, evaluate); }; });

  auto* config_cmd = app.add_subcommand("config", "Inspect the configuration");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("show", "Print the effective configuration and each value's origin")
      ->callback([&] { run = [&] { return RunConfigShow(global); }; });
  config_cmd->add_subcommand("template", "Print a configuration file with every default")
      ->callback([&] { run = [] { return RunConfigTemplate(); }; });
  config_cmd->add_subcommand("reference", "Print the settings reference table (Markdown)")
      ->callback([&] { run = [] { return RunConfigReference(); }; });

  app.add_subcommand("chat",
                     "Talk to the bot on the console (trains the default model first "
                     "when none exists)")
      ->callback([&] { run = [&] { return RunChat(global); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    const int status = run ? run() : kExitUsage;
    FlushLogs();
    return status;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "chatbot: configuration error: %s\n", e.what());
    return kExitUsage;
  } catch (const DataError& e) {
    std::fprintf(stderr, "chatbot: data error: %s\n", e.what());
    return kExitUsage;
  } catch (const ModelError& e) {
    AppLog()->error("model error: {}", e.what());
    FlushLogs();
    std::fprintf(stderr, "chatbot: model error: %s\n", e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    AppLog()->error("{}", e.what());
    FlushLogs();
    std::fprintf(stderr, "chatbot: error: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace chatbot::cli
