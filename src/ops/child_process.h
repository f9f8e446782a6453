// Running another program from the ops layer (pg_dump, pg_restore,
// nvidia-smi) and collecting what it printed: the child gets the default
// signal mask and dispositions (the service blocks SIGTERM in all its
// threads, and a child would inherit that), stdin from /dev/null, the
// parent's environment with the given variables added or replaced.
#ifndef CHATBOT_OPS_CHILD_PROCESS_H_
#define CHATBOT_OPS_CHILD_PROCESS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace chatbot::ops {

struct ChildOptions {
  std::vector<std::string> args;  // args[0] is looked up in PATH
  std::map<std::string, std::string> environment;
  bool capture_stdout = true;  // false: stdout goes to /dev/null
  bool capture_stderr = true;  // false: stderr goes to /dev/null
  // 0: no limit; otherwise the child is killed (SIGKILL) when it runs longer.
  std::chrono::milliseconds timeout{0};
  size_t max_output = 1 << 20;  // bytes kept of each stream (the rest is read and dropped)
};

struct ChildResult {
  bool started = false;  // false: the program could not be run (`error` says why)
  bool timed_out = false;
  int exit_code = -1;  // -1 when it did not exit normally
  int signal = 0;      // the signal that ended it, if one did
  std::string out;
  std::string err;
  std::string error;
  bool ok() const { return started && !timed_out && exit_code == 0; }
  // "exited with status 1: <last line of stderr>", "was killed by signal 9",
  // "could not be started: No such file or directory", for messages.
  std::string Describe() const;
};

ChildResult RunChild(const ChildOptions& options);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_CHILD_PROCESS_H_
