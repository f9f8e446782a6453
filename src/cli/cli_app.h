// The `chatbot` command line: parses arguments and runs one subcommand.
#ifndef CHATBOT_CLI_CLI_APP_H_
#define CHATBOT_CLI_CLI_APP_H_

namespace chatbot::cli {

// Returns the process exit status.
int RunCommandLine(int argc, char** argv);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_CLI_APP_H_
