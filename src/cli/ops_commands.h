// The operator's subcommands (docs/OPERATIONS.md):
//   chatbot check-model [--url URL] [--model NAME] [--samples N] [--json]
//   chatbot verify-model [--model NAME] [--json]
//   chatbot backup [--dest DIR] [--keep N] [--max-age D]
//   chatbot backup list|verify [NAME|latest]|prune
//   chatbot restore --backup latest|NAME|PATH [--stop-server] [--force] [--no-config]
//   chatbot notice [--json] | set TEXT [--until TIME] | clear
// Exit status: 0 healthy / verified / done, 1 a problem found (details on
// stdout), 2 bad arguments or configuration.
#ifndef CHATBOT_CLI_OPS_COMMANDS_H_
#define CHATBOT_CLI_OPS_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "ops/restore_run.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chatbot::cli {

struct CheckModelArgs {
  std::string url;      // a running service instead of the model folders
  std::string api_key;  // sent as "Authorization: Bearer KEY" with --url
  std::string model;    // only this model folder; empty: all
  int samples = -1;     // predictions timed (with --url: requests); -1: 200 (--url: 10)
  bool json = false;
};
int RunCheckModel(const GlobalOptions& global, const CheckModelArgs& args);

struct VerifyModelArgs {
  std::string model;  // only this model folder; empty: every present one
  bool json = false;
};
int RunVerifyModel(const GlobalOptions& global, const VerifyModelArgs& args);

struct BackupArgs {
  std::string dest;              // the backups folder; empty: backup.dir
  int64_t keep = -1;             // -1: backup.keep
  std::string max_age;           // "30d"; empty: backup.max_age_days
  std::string which = "latest";  // verify: NAME, latest or a path
  bool json = false;             // list
};
int RunBackupCreate(const GlobalOptions& global, const BackupArgs& args);
int RunBackupList(const GlobalOptions& global, const BackupArgs& args);
int RunBackupVerify(const GlobalOptions& global, const BackupArgs& args);
int RunBackupPrune(const GlobalOptions& global, const BackupArgs& args);

// The restore's own options (its `say` is set by the command).
using RestoreArgs = ops::RestoreRunOptions;
int RunRestore(const GlobalOptions& global, const RestoreArgs& args);

struct NoticeArgs {
  std::string text;
  std::string until;  // a UTC time or a duration; empty: until cleared
  bool json = false;
};
// The `notice` command (notice_command.cc); parsing it sets `*run`.
void AddNoticeCommand(CLI::App& app, const GlobalOptions& global, NoticeArgs* args,
                      std::function<int()>* run);

// Every argument struct of the commands above, owned by the caller for the
// duration of the parse.
struct OpsArgs {
  CheckModelArgs check_model;
  VerifyModelArgs verify_model;
  BackupArgs backup;
  RestoreArgs restore;
};

// Adds the subcommands to `app`; parsing one sets `*run` to its runner.
void AddOpsCommands(CLI::App& app, const GlobalOptions& global, OpsArgs* args,
                    std::function<int()>* run);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_OPS_COMMANDS_H_
