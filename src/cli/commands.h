// The subcommands of `chatbot`. Each takes the global options and its own
// arguments and returns the exit status; cli_app.cc wires them to CLI11.
#ifndef CHATBOT_CLI_COMMANDS_H_
#define CHATBOT_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/command_context.h"

namespace chatbot::cli {

struct TrainArgs {
  std::string model = "svm";
  std::vector<std::string> data;  // empty: [paths] data
  std::string validation;         // held-out file; empty: split the training data
};
int RunTrain(const GlobalOptions& global, const TrainArgs& args);
// Trains and saves the SVM model; shared by `train` and `chat`.
int TrainSvm(const Configuration& config, const TrainArgs& args);

struct PredictArgs {
  std::vector<std::string> texts;  // empty: one query per line of stdin
  bool json = false;
  int top_k = 0;  // 0: [nlu] top_k
};
int RunPredict(const GlobalOptions& global, const PredictArgs& args);

struct EvaluateArgs {
  std::string data;
  int cross_validation = 0;  // K > 0: K-fold cross-validation on `data`
  bool json = false;
  std::string report;  // HTML report path
};
int RunEvaluate(const GlobalOptions& global, const EvaluateArgs& args);

int RunConfigShow(const GlobalOptions& global);
int RunConfigTemplate();
int RunConfigReference();

// Interactive: trains the default model when none exists, then answers each
// line typed with the intent and the domain's reply.
int RunChat(const GlobalOptions& global);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_COMMANDS_H_
