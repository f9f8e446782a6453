// The security subcommands (docs/security.md):
//   chatbot keys create --name N --role R [--expires 90d] [--allow CIDR]...
//                       [--rate-limit R] [--burst B] [--json]
//   chatbot keys list [--json] | show ID [--json]
//   chatbot keys rotate ID [--grace 24h] [--json] | revoke ID
//   chatbot keys update ID [--name N] [--role R] [--expires D|never]
//                       [--allow CIDR]... [--clear-allow] [--rate-limit R|default]
//                       [--burst B|default]
//   chatbot lockdown on [--reason TEXT] | off | status [--json]
// Each calls security::KeyAdmin (security/key_admin.h). Exit status: 0
// done, 1 no such key or a key that cannot be changed (revoked), 2 bad
// arguments.
#ifndef CHATBOT_CLI_SECURITY_COMMANDS_H_
#define CHATBOT_CLI_SECURITY_COMMANDS_H_

#include <functional>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "security/key_admin.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chatbot::cli {

struct KeysArgs {
  std::string id;
  security::KeyRequestText request;  // create, update
  std::string grace;                 // rotate: "24h"; empty: none
  bool json = false;
};
int RunKeysCreate(const GlobalOptions& global, const KeysArgs& args);
int RunKeysList(const GlobalOptions& global, const KeysArgs& args);
int RunKeysShow(const GlobalOptions& global, const KeysArgs& args);
int RunKeysRotate(const GlobalOptions& global, const KeysArgs& args);
int RunKeysRevoke(const GlobalOptions& global, const KeysArgs& args);
int RunKeysUpdate(const GlobalOptions& global, const KeysArgs& args);

struct LockdownArgs {
  std::string reason;
  bool json = false;
};
int RunLockdown(const GlobalOptions& global, bool on, const LockdownArgs& args);
int RunLockdownStatus(const GlobalOptions& global, const LockdownArgs& args);

struct SecurityArgs {
  KeysArgs keys;
  LockdownArgs lockdown;
};

// Adds `keys` and `lockdown` to `app`; parsing one sets `*run` to its runner.
void AddSecurityCommands(CLI::App& app, const GlobalOptions& global, SecurityArgs* args,
                         std::function<int()>* run);
// The `lockdown` half (lockdown_command.cc).
void AddLockdownCommand(CLI::App& app, const GlobalOptions& global, LockdownArgs* args,
                        std::function<int()>* run);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_SECURITY_COMMANDS_H_
