// The `chatbot` executable: everything lives in the libraries under src/.
#include "cli/cli_app.h"

int main(int argc, char** argv) {
  return chatbot::cli::RunCommandLine(argc, argv);
}
