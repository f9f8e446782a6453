// `chatbot serve`: trains the default model first when there is none, then
// runs the HTTP service (server/service.h) until SIGTERM or SIGINT.
#include <cstdio>

#include "cli/commands.h"
#include "server/service.h"

namespace chatbot::cli {

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

}  // namespace chatbot::cli
