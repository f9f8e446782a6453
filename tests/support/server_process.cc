#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kBinary = CHATBOT_BINARY;

std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// The parent's environment without CHATBOT_* variables, plus `extra`.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::string name = text.substr(0, text.find('='));
    if (name.rfind("CHATBOT_", 0) == 0 || extra.count(name) != 0) continue;
    entries.push_back(text);
  }
  for (const auto& [name, value] : extra) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void ExecChild(const char* program, char* const* argv, char* const* envp,
                            const char* directory, int in, int out, int err) {
  ::setpgid(0, 0);
  // A test binary that crashes takes its server with it (the signal comes
  // when the forking thread ends: tests start servers from their main thread).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The child must not inherit a blocked signal mask from a test thread.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(err, STDERR_FILENO) < 0) {
    ::_exit(126);
  }
  if (::chdir(directory) != 0) ::_exit(126);
  ::execve(program, argv, envp);
  static const char kMessage[] = "server_process: cannot execute the program\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(127);
}

int OpenOrThrow(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw SystemError("open " + path.string());
  return fd;
}

int StatusToExit(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

fs::path DefaultDomainDir() {
  return fs::path(CHATBOT_SOURCE_DIR) / "data" / "domain";
}

ProcessResult TrainDefaultModel(const fs::path& work_dir, const fs::path& models_dir) {
  ProcessOptions options;
  options.program = kBinary;
  options.args = {"train",
                  "--data",
                  DefaultDomainDir().string(),
                  "--models",
                  models_dir.string(),
                  "--set",
                  "paths.logs=" + (work_dir / "logs").string()};
  options.working_directory = work_dir;
  options.timeout = std::chrono::seconds(120);
  return RunProcess(options);
}

const SharedModel& SharedTrainedModel() {
  static const TempDir dir("chatbot-api-model");  // removed at exit
  static const SharedModel shared = [] {
    SharedModel model;
    model.models_dir = dir.path() / "model";
    model.training = TrainDefaultModel(dir.path(), model.models_dir);
    model.ok = model.training.exit_code == 0 && fs::exists(model.models_dir / "svm" / "model.bin");
    return model;
  }();
  return shared;
}

void InstallSharedModel(const fs::path& dir) {
  const SharedModel& shared = SharedTrainedModel();
  if (!shared.ok) throw std::runtime_error("the shared model could not be trained");
  fs::create_directories(dir / "model");
  fs::copy(shared.models_dir / "svm", dir / "model" / "svm",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {}

ServerProcess::~ServerProcess() {
  if (running()) Kill();
}

std::vector<std::string> ServerProcess::Arguments() const {
  const fs::path& dir = options_.dir;
  // The tests send many requests from one address without a key, so the
  // per-address limit for those is off; security tests set theirs after it.
  std::vector<std::string> args = {"serve",
                                   "--port",
                                   std::to_string(options_.port),
                                   "--set",
                                   "server.host=127.0.0.1",
                                   "--set",
                                   "sessions.path=" + (dir / "sessions.db").string(),
                                   "--set",
                                   "paths.logs=" + (dir / "logs").string(),
                                   "--set",
                                   "paths.data=" + DefaultDomainDir().string(),
                                   "--set",
                                   "security.rate_limit_anonymous=0",
                                   "--models",
                                   (dir / "model").string()};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

void ServerProcess::Start() {
  if (running()) throw std::runtime_error("the server is already running");
  port_ = 0;
  const fs::path& dir = options_.dir;
  const int in = OpenOrThrow("/dev/null", O_RDONLY);
  const int out = OpenOrThrow(dir / "serve.stdout", O_WRONLY | O_CREAT | O_TRUNC);
  const int err = OpenOrThrow(dir / "serve.stderr", O_WRONLY | O_CREAT | O_TRUNC);

  std::vector<std::string> arg_strings = {kBinary.string()};
  const std::vector<std::string> args = Arguments();
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(options_.environment);
  std::vector<char*> argv = Pointers(arg_strings);
  std::vector<char*> envp = Pointers(env_strings);
  const std::string program = kBinary.string();
  const std::string directory = dir.string();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::runtime_error error = SystemError("fork");
    ::close(in);
    ::close(out);
    ::close(err);
    throw error;
  }
  if (pid == 0) {
    ExecChild(program.c_str(), argv.data(), envp.data(), directory.c_str(), in, out, err);
  }
  ::setpgid(pid, pid);
  ::close(in);
  ::close(out);
  ::close(err);
  pid_ = pid;

  static const std::regex kReady(R"(listening on https?://127\.0\.0\.1:(\d+) \(ready in \d+ ms\))");
  const Clock::time_point deadline = Clock::now() + options_.ready_timeout;
  while (true) {
    std::smatch match;
    const std::string text = Stdout();
    if (std::regex_search(text, match, kReady)) {
      port_ = static_cast<uint16_t>(std::stoi(match[1].str()));
      return;
    }
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      throw std::runtime_error("the server exited with status " +
                               std::to_string(StatusToExit(status)) + " before it was ready\n" +
                               Describe());
    }
    if (Clock::now() >= deadline) {
      Kill();
      throw std::runtime_error("the server was not ready within " +
                               std::to_string(options_.ready_timeout.count()) + " ms\n" +
                               Describe());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ServerProcess::Signal(int signal) {
  if (!running()) throw std::runtime_error("the server is not running");
  if (::kill(pid_, signal) != 0) throw SystemError("kill");
}

int ServerProcess::Wait(std::chrono::milliseconds timeout) {
  if (!running()) throw std::runtime_error("the server is not running");
  const Clock::time_point deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno != EINTR) throw SystemError("waitpid");
    if (Clock::now() >= deadline) {
      Kill();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return StatusToExit(status);
}

int ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  Signal(SIGTERM);
  return Wait(timeout);
}

void ServerProcess::Kill() {
  if (!running()) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string ServerProcess::Stdout() const {
  return ReadFileIfExists(options_.dir / "serve.stdout");
}

std::string ServerProcess::Stderr() const {
  return ReadFileIfExists(options_.dir / "serve.stderr");
}

std::string ServerProcess::Describe() const {
  std::ostringstream out;
  out << "command: " << kBinary.string();
  for (const std::string& arg : Arguments()) out << ' ' << arg;
  out << "\n--- stdout ---\n"
      << Stdout().substr(0, 4000) << "\n--- stderr ---\n"
      << Stderr().substr(0, 4000);
  return out.str();
}

}  // namespace chatbot::testing
