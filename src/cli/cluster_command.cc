// `chatbot cluster status` (docs/OPERATIONS.md, docs/scaling.md): the
// instances recorded in the configured store, live or gone, with their
// address, model version, uptime and last heartbeat, and the model version
// published for all of them. Exit status 0 when at least one instance is
// listed and every one is live, 1 otherwise.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "store/cluster_status.h"

namespace chatbot::cli {
namespace {

int RunClusterStatus(const GlobalOptions& global) {
  const Configuration config = LoadConfiguration(global);
  const store::ClusterStatus status = store::ReadClusterStatus(config.settings());
  std::fputs(store::ClusterStatusTable(status).c_str(), stdout);
  const bool all_live =
      !status.instances.empty() && status.live_count() == static_cast<int>(status.instances.size());
  return all_live ? kExitOk : kExitFailure;
}

}  // namespace

void AddClusterCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto* cluster = app.add_subcommand("cluster", "The instances sharing this service's store");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand(
      "status", "List the instances: address, model version, uptime, last heartbeat");
  OnParse(status, run, [&global] { return RunClusterStatus(global); });
}

}  // namespace chatbot::cli
