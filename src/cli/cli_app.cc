#include "cli/cli_app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>

#include "cli/commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "security/key_manager.h"

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
  for (AddCommands* add :
       {AddTrainCommands, AddPredictCommand, AddEvaluateCommand, AddConfigCommands, AddChatCommand,
        AddServeCommand, AddSessionsCommands, AddModelCheckCommands, AddBackupCommands,
        AddRestoreCommand, AddKeysCommands, AddLockdownCommands, AddClusterCommands,
        AddNoticeCommands}) {
    add(app, global, &run);
  }

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
  } catch (const UsageError& e) {
    std::fprintf(stderr, "chatbot: %s\n", e.what());
    return kExitUsage;
  } catch (const security::KeyError& e) {
    // Bad input is a usage error; a missing or revoked key, a failure.
    std::fprintf(stderr, "chatbot: %s\n", e.what());
    return e.kind() == security::KeyError::Kind::kInvalid ? kExitUsage : kExitFailure;
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
