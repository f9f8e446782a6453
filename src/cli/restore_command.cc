// `chatbot restore --backup latest|NAME|PATH`: parse, run the restore
// (ops/restore_run.h), print its report as it goes.
#include <cstdio>

#include "cli/ops_commands.h"
#include "ops/restore_run.h"

namespace chatbot::cli {

int RunRestore(const GlobalOptions& global, const RestoreArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  ops::RestoreRunOptions options = args;
  options.say = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  return ops::RunRestore(config, options) ? kExitOk : kExitFailure;
}

}  // namespace chatbot::cli
