// `chatbot lockdown on|off|status` (docs/security.md): while on, the
// service answers 503 to every request without an admin key; the state is
// kept in the keys database, so it survives restarts.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "security/key_admin.h"
#include "security/key_json.h"

namespace chatbot::cli {
namespace {

struct LockdownArgs {
  std::string reason;
  bool json = false;
};

void Print(const security::LockdownState& state, bool as_json) {
  if (as_json) {
    std::printf("%s\n", boost::json::serialize(security::LockdownToJson(state)).c_str());
  } else {
    std::printf("%s\n", security::LockdownText(state).c_str());
  }
}

int RunLockdown(const GlobalOptions& global, bool on, const LockdownArgs& args) {
  const Configuration config = LoadConfiguration(global);
  Print(security::KeyAdmin(config).SetLockdown(on, args.reason), args.json);
  if (on && !args.json) {
    std::printf("Only requests with an admin key are served; `chatbot lockdown off` ends it.\n");
  }
  return kExitOk;
}

int RunLockdownStatus(const GlobalOptions& global, const LockdownArgs& args) {
  const Configuration config = LoadConfiguration(global);
  Print(security::KeyAdmin::CurrentLockdown(config.settings()), args.json);
  return kExitOk;
}

}  // namespace

void AddLockdownCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  const auto args = std::make_shared<LockdownArgs>();
  auto* lockdown = app.add_subcommand(
      "lockdown", "Serve only admin keys (on), everyone again (off), or show the state");
  lockdown->require_subcommand(1);
  auto* on = lockdown->add_subcommand("on", "Refuse every request without an admin key (503)");
  on->add_option("--reason", args->reason, "Why; shown to clients and in the audit log");
  on->add_flag("--json", args->json, "Print the state as JSON");
  OnParse(on, run, [&global, args] { return RunLockdown(global, true, *args); });
  auto* off = lockdown->add_subcommand("off", "Serve every permitted request again");
  off->add_flag("--json", args->json, "Print the state as JSON");
  OnParse(off, run, [&global, args] { return RunLockdown(global, false, *args); });
  auto* status = lockdown->add_subcommand("status", "Show whether the lockdown is on");
  status->add_flag("--json", args->json, "As JSON");
  OnParse(status, run, [&global, args] { return RunLockdownStatus(global, *args); });
}

}  // namespace chatbot::cli
