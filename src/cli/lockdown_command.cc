// `chatbot lockdown on|off|status` (security_commands.h): while on, the
// service answers 503 to every request without an admin key; the state is
// kept in the keys database, so it survives restarts.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/security_commands.h"
#include "common/error.h"
#include "common/time.h"
#include "security/audit_log.h"
#include "security/key_json.h"
#include "security/key_manager.h"
#include "security/open_key_store.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;

void Print(const security::LockdownState& state, bool as_json) {
  if (as_json) {
    std::printf("%s\n", boost::json::serialize(security::LockdownToJson(state)).c_str());
    return;
  }
  if (state.since_ms == 0) {
    std::printf("Lockdown is off (never switched on).\n");
    return;
  }
  std::printf("Lockdown is %s since %s (by %s)%s%s\n", state.on ? "ON" : "off",
              FormatTimestamp(state.since_ms).c_str(), state.by.c_str(),
              state.reason.empty() ? "" : ": ", state.reason.c_str());
}

}  // namespace

int RunLockdown(const GlobalOptions& global, bool on, const LockdownArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  auto store = security::OpenKeyStore(config.settings());
  security::AuditLog audit(fs::path(settings.paths.logs) / "audit.log");
  security::KeyManager manager(store.get(), &audit, security::SystemClock::Instance());
  try {
    const security::LockdownState state =
        manager.SetLockdown(on, args.reason, security::Actor::CommandLine());
    WaitForServiceRefresh(settings);
    Print(state, args.json);
  } catch (const security::KeyError& e) {
    std::fprintf(stderr, "chatbot: %s\n", e.what());
    return kExitUsage;
  }
  if (on && !args.json) {
    std::printf("Only requests with an admin key are served; `chatbot lockdown off` ends it.\n");
  }
  return kExitOk;
}

int RunLockdownStatus(const GlobalOptions& global, const LockdownArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  const fs::path path = settings.security.database;
  std::error_code error;
  security::LockdownState state;
  if (settings.store.backend != "sqlite" || fs::exists(path, error)) {
    state = security::OpenKeyStore(settings)->GetLockdown();
  }
  Print(state, args.json);
  return kExitOk;
}

void AddLockdownCommand(CLI::App& app, const GlobalOptions& global, LockdownArgs* args,
                        std::function<int()>* run) {
  auto* lockdown = app.add_subcommand(
      "lockdown", "Serve only admin keys (on), everyone again (off), or show the state");
  lockdown->require_subcommand(1);
  auto* on = lockdown->add_subcommand("on", "Refuse every request without an admin key (503)");
  on->add_option("--reason", args->reason, "Why; shown to clients and in the audit log");
  on->add_flag("--json", args->json, "Print the state as JSON");
  on->callback([&global, args, run] {
    *run = [&global, args] { return RunLockdown(global, true, *args); };
  });
  auto* off = lockdown->add_subcommand("off", "Serve every permitted request again");
  off->add_flag("--json", args->json, "Print the state as JSON");
  off->callback([&global, args, run] {
    *run = [&global, args] { return RunLockdown(global, false, *args); };
  });
  auto* status = lockdown->add_subcommand("status", "Show whether the lockdown is on");
  status->add_flag("--json", args->json, "As JSON");
  status->callback([&global, args, run] {
    *run = [&global, args] { return RunLockdownStatus(global, *args); };
  });
}

}  // namespace chatbot::cli
