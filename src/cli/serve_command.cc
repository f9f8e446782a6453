// `chatbot serve`: trains the default model first when there is none, then
// runs the HTTP service (server/service.h) until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "server/service.h"

namespace chatbot::cli {
namespace {

struct ServeArgs {
  std::string host;  // empty: [server] host
  int port = -1;     // -1: [server] port
};

int RunServe(const GlobalOptions& global, const ServeArgs& args) {
  GlobalOptions options = global;
  if (!args.host.empty()) options.sets.push_back("server.host=" + args.host);
  if (args.port >= 0) options.sets.push_back("server.port=" + std::to_string(args.port));
  const Configuration config = LoadConfiguration(options);
  StartLogging(config);
  server::Service service(config, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  TrainDefaultModelIfMissing(config);
  service.Run();
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Run the HTTP service (trains the default model first when none exists)");
  cmd->add_option("--host", args->host, "Address to listen on (default: [server] host)");
  cmd->add_option("--port", args->port, "TCP port; 0 picks a free one (default: [server] port)")
      ->check(CLI::Range(0, 65535));
  OnParse(cmd, run, [&global, args] { return RunServe(global, *args); });
}

}  // namespace chatbot::cli
