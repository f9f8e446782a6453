// The subcommands of `chatbot`. Each takes the global options and its own
// arguments and returns the exit status; cli_app.cc wires them to CLI11.
#ifndef CHATBOT_CLI_COMMANDS_H_
#define CHATBOT_CLI_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cli/command_context.h"

namespace chatbot::cli {

struct TrainArgs {
  std::string model = "svm";
  std::vector<std::string> data;  // empty: [paths] data
  std::string validation;         // held-out file; empty: split the training data
  std::string init;               // bert: checkpoint to fine-tune; empty: [bert] init
  std::string size;               // bert from scratch; empty: [bert] size
  std::string encoder;            // use: imported encoder; empty: <paths.models>/encoder
};
int RunTrain(const GlobalOptions& global, const TrainArgs& args);
// Trains the SVM on [paths] data when [paths] models has none (the first
// `serve` or `chat` of a fresh install).
void TrainDefaultModelIfMissing(const Configuration& config);

struct PredictArgs {
  std::vector<std::string> texts;  // empty: one query per line of stdin
  bool json = false;
  int top_k = 0;  // 0: [nlu] top_k
};
int RunPredict(const GlobalOptions& global, const PredictArgs& args);

struct EvaluateArgs {
  std::string data;
  std::string model;         // svm|bert|ensemble; empty: [nlu] model
  int cross_validation = 0;  // K > 0: K-fold cross-validation on `data`
  bool json = false;
  std::string report;  // HTML report path
};
int RunEvaluate(const GlobalOptions& global, const EvaluateArgs& args);

// `chatbot import-bert DIR`: adopts a fine-tuned checkpoint as model/bert.
struct ImportBertArgs {
  std::string checkpoint;
  std::string validation;
};
int RunImportBert(const GlobalOptions& global, const ImportBertArgs& args);

// `chatbot import-encoder`: converts the Universal Sentence Encoder's npm
// package into an encoder directory (nlu/use_encoder_files.h).
struct ImportEncoderArgs {
  std::string package;  // empty: where scripts/setup.sh puts it
  std::string out;      // empty: <paths.models>/encoder
};
int RunImportEncoder(const GlobalOptions& global, const ImportEncoderArgs& args);

int RunConfigShow(const GlobalOptions& global);
int RunConfigTemplate();
int RunConfigReference();

struct ServeArgs {
  std::string host;  // empty: [server] host
  int port = -1;     // -1: [server] port
};
// The HTTP service (see src/server/); returns after SIGTERM/SIGINT.
int RunServe(const GlobalOptions& global, const ServeArgs& args);

// Interactive: trains the default model when none exists, then answers each
// line typed through dialogue::ChatService, as POST /v1/chat does, storing
// the conversation as a session.
struct ChatArgs {
  std::string session_id;  // empty: a new session
};
int RunChat(const GlobalOptions& global, const ChatArgs& args);

// `chatbot sessions list|show|export|clean` (docs/sessions.md). Reading
// commands never create the database: a missing one has no sessions.
struct SessionsArgs {
  int limit = 20;               // list: rows printed
  int64_t before_ms = 0;        // list: only sessions created strictly before...
  bool has_before = false;      // ...when --before was given
  bool json = false;            // list, show: JSON instead of text
  std::string id;               // show
  std::string output;           // export, labels: file written atomically; empty: stdout
  std::string since;            // labels: "7d"...; empty: every label
  std::string older_than;       // clean: "30d", "12h"...
  bool has_older_than = false;  // clean: without it, sessions.retention_days
  bool no_vacuum = false;       // clean: leave the freed pages in the file
};
int RunSessionsList(const GlobalOptions& global, const SessionsArgs& args);
int RunSessionsShow(const GlobalOptions& global, const SessionsArgs& args);
int RunSessionsExport(const GlobalOptions& global, const SessionsArgs& args);
int RunSessionsClean(const GlobalOptions& global, const SessionsArgs& args);
int RunSessionsLabels(const GlobalOptions& global, const SessionsArgs& args);

// `chatbot cluster status`: the instances sharing the store (cluster_command.cc).
int RunClusterStatus(const GlobalOptions& global);
void AddClusterCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run);

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_COMMANDS_H_
