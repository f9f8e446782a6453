// Runs a program as a child process for the integration tests: in a given
// working directory, with a controlled environment, stdin fed from a string,
// stdout and stderr captured (through temporary files, so that neither pipe
// can fill up and block the child) and a timeout that kills the child.
#ifndef CHATBOT_TESTS_INTEGRATION_PROCESS_RUNNER_H_
#define CHATBOT_TESTS_INTEGRATION_PROCESS_RUNNER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace chatbot::testing {

struct ProcessOptions {
  std::filesystem::path program;
  std::vector<std::string> args;            // without argv[0]
  std::filesystem::path working_directory;  // empty: the current one
  // Variables set in the child, on top of the parent's environment from
  // which every variable starting with one of `removed_prefixes` is dropped.
  std::map<std::string, std::string> environment;
  std::vector<std::string> removed_prefixes = {"CHATBOT_"};
  std::string stdin_data;
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

struct ProcessResult {
  int exit_code = -1;  // the exit status, or -1 when the child was killed by a signal
  int signal = 0;      // the signal that ended the child, if any
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
  double seconds = 0;
};

// Throws std::runtime_error when the child cannot be started at all; a
// program that cannot be executed ends with exit code 127.
ProcessResult RunProcess(const ProcessOptions& options);

// For assertion messages: how the child ended and what it printed.
std::string Describe(const ProcessResult& result);

// A child left running while a test talks to it (nginx, database servers):
// started like RunProcess's (`timeout` and `stdin_data` unused; stdin is
// /dev/null) with stdout and stderr written to the two files, and killed by
// the kernel when the thread that started it ends, so a crashed test leaves
// nothing behind. Returns its pid (also its process group's id); throws
// std::runtime_error when it cannot be started.
pid_t StartBackgroundProcess(const ProcessOptions& options, const std::filesystem::path& out,
                             const std::filesystem::path& err);
// Reaps the child if it has ended: true then, with `exit_status` set to its
// exit status (0..255) or 128 + the signal that ended it.
bool BackgroundProcessEnded(pid_t pid, int* exit_status);
// Waits up to `timeout` for the child to end: its exit status as above, or
// -1 when it did not end in time (its process group is then killed).
int WaitForBackgroundProcess(pid_t pid, std::chrono::milliseconds timeout);
// SIGKILL to the child's whole process group, then reaps the child.
void KillBackgroundProcess(pid_t pid);

// The lines of `text`, without their newlines.
std::vector<std::string> Lines(const std::string& text);

// A fresh directory under the system's temporary directory, removed with
// everything in it on destruction.
using TempDir = test_support::TempDir;

// Whole-file helpers; they throw std::runtime_error on failure.
std::string ReadFileToString(const std::filesystem::path& path);
// The file's contents, or "" when it is missing or unreadable (for the
// messages of a test that failed: a server's output, its logs).
std::string ReadFileIfExists(const std::filesystem::path& path);
void WriteStringToFile(const std::filesystem::path& path, const std::string& contents);

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_PROCESS_RUNNER_H_
