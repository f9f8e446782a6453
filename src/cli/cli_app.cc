#include "cli/cli_app.h"

namespace chatbot::cli {
int RunCommandLine(int, char**) { return 0; }
}  // namespace chatbot::cli
