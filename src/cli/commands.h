// The subcommands of `chatbot`, in families. Each Add* function adds its
// family to `app` with the arguments it parses (kept alive by the app) and
// makes parsing one of them set `*run` to its runner, which RunCommandLine
// calls after the parse (cli_app.cc). A runner parses nothing more: it loads
// the configuration, calls one library function and prints.
#ifndef CHATBOT_CLI_COMMANDS_H_
#define CHATBOT_CLI_COMMANDS_H_

#include <functional>

#include "cli/command_context.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chatbot::cli {

using AddCommands = void(CLI::App& app, const GlobalOptions& global, std::function<int()>* run);

AddCommands AddTrainCommands;       // train, import-bert, import-encoder
AddCommands AddPredictCommand;      // predict
AddCommands AddEvaluateCommand;     // evaluate
AddCommands AddConfigCommands;      // config show|template|reference
AddCommands AddChatCommand;         // chat
AddCommands AddServeCommand;        // serve
AddCommands AddSessionsCommands;    // sessions list|show|export|labels|clean
AddCommands AddModelCheckCommands;  // check-model, verify-model
AddCommands AddBackupCommands;      // backup [list|verify|prune]
AddCommands AddRestoreCommand;      // restore
AddCommands AddKeysCommands;        // keys create|list|show|rotate|revoke|update
AddCommands AddLockdownCommands;    // lockdown on|off|status
AddCommands AddClusterCommands;     // cluster status
AddCommands AddNoticeCommands;      // notice [set|clear]

// Trains the SVM on [paths] data when [paths] models has none (the first
// `serve` or `chat` of a fresh install).
void TrainDefaultModelIfMissing(const Configuration& config);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_COMMANDS_H_
