// Runs the real `chatbot serve` (CHATBOT_BINARY) as a child process for the
// HTTP integration tests:
//
//   chatbot serve --port 0|PORT --set server.host=127.0.0.1
//                 --set sessions.path=DIR/sessions.db --set paths.logs=DIR/logs
//                 --set paths.data=<source>/data/domain
//                 --set security.rate_limit_anonymous=0 --models DIR/model [extra args]
//
// in DIR as its working directory, with every CHATBOT_* variable removed
// from its environment (like process_runner.h). stdout and stderr go to
// DIR/serve.stdout and DIR/serve.stderr; Start() waits for the line
// "... listening on http[s]://127.0.0.1:PORT (ready in N ms)" and takes the
// port from it. The destructor kills a child that is still running.
#ifndef CHATBOT_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define CHATBOT_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "process_runner.h"

namespace chatbot::testing {

struct ServerOptions {
  std::filesystem::path dir;            // working directory; holds model/, logs/, sessions.db
  std::vector<std::string> extra_args;  // appended to the command line
  std::map<std::string, std::string> environment;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
  // --port: 0 lets the server pick a free one; a fixed one lets a server
  // restarted after a kill come back where a load balancer expects it.
  uint16_t port = 0;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits until it listens. Throws std::runtime_error
  // (with the child's stdout and stderr) when it exits or is not ready within
  // the timeout; the child is killed then.
  void Start();

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const ServerOptions& options() const { return options_; }

  // Sends a signal to the child (no wait).
  void Signal(int signal);
  // SIGHUP: reload the model.
  void Hup() { Signal(SIGHUP); }
  // Waits for the child to end: its exit status (0..255), 128 + the signal
  // that ended it, or -1 when it did not end within `timeout` (it is then
  // killed with SIGKILL).
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM, then Wait().
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGKILL, then reaps the child.
  void Kill();

  // What the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;
  // For assertion messages: the command line, stdout and stderr.
  std::string Describe() const;

 private:
  std::vector<std::string> Arguments() const;

  ServerOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// The default domain shipped with the sources.
std::filesystem::path DefaultDomainDir();

// The default domain's model, trained once per test binary (on first use,
// with TrainDefaultModel) into a temporary directory that lives until the
// process exits. Tests copy it (InstallSharedModel) so none can damage
// another's.
struct SharedModel {
  std::filesystem::path models_dir;  // holds svm/
  ProcessResult training;
  bool ok = false;
};
const SharedModel& SharedTrainedModel();
// Copies the shared model's files to `dir`/model/svm (replacing any there).
void InstallSharedModel(const std::filesystem::path& dir);

// Trains the default domain's SVM model into `models_dir`/svm with
// `chatbot train`, running in `work_dir`; the result says how it went.
ProcessResult TrainDefaultModel(const std::filesystem::path& work_dir,
                                const std::filesystem::path& models_dir);

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_SERVER_PROCESS_H_
