#include "process_runner.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace chatbot::testing {
namespace {

std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// An anonymous temporary file (unlinked at once), closed on destruction.
class AnonymousFile {
 public:
  AnonymousFile() {
    std::string name = (std::filesystem::temp_directory_path() / "chatbot-io-XXXXXX").string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) throw SystemError("mkostemp " + name);
    ::unlink(name.c_str());
  }
  ~AnonymousFile() { ::close(fd_); }
  AnonymousFile(const AnonymousFile&) = delete;
  AnonymousFile& operator=(const AnonymousFile&) = delete;

  int fd() const { return fd_; }

  void Write(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw SystemError("write");
      done += static_cast<size_t>(n);
    }
    Rewind();
  }

  std::string ReadAll() {
    Rewind();
    std::string out;
    char buffer[65536];
    while (true) {
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw SystemError("read");
      if (n == 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  void Rewind() {
    if (::lseek(fd_, 0, SEEK_SET) < 0) throw SystemError("lseek");
  }
  int fd_ = -1;
};

bool HasPrefix(const std::string& text, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (text.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::vector<std::string> ChildEnvironment(const ProcessOptions& options) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::string name = text.substr(0, text.find('='));
    if (HasPrefix(name, options.removed_prefixes)) continue;
    if (options.environment.count(name) != 0) continue;
    entries.push_back(text);
  }
  for (const auto& [name, value] : options.environment) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// What execve needs, prepared before fork (nothing may allocate after it).
struct ChildCommand {
  explicit ChildCommand(const ProcessOptions& options)
      : program(options.program.string()),
        directory(options.working_directory.string()),
        arg_strings({program}),
        env_strings(ChildEnvironment(options)) {
    arg_strings.insert(arg_strings.end(), options.args.begin(), options.args.end());
    argv = Pointers(arg_strings);
    envp = Pointers(env_strings);
  }
  std::string program;
  std::string directory;  // empty: the parent's
  std::vector<std::string> arg_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

// Only async-signal-safe calls between fork and exec. A background child
// dies with the thread that started it and starts with no signal blocked
// (a test thread may block some).
[[noreturn]] void ExecChild(const ChildCommand& command, int in, int out, int err,
                            bool background = false) {
  ::setpgid(0, 0);  // so that a timeout kills whatever the child started too
  if (background) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(err, STDERR_FILENO) < 0) {
    ::_exit(126);
  }
  if (!command.directory.empty() && ::chdir(command.directory.c_str()) != 0) {
    static const char kMessage[] = "process_runner: cannot change directory\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(126);
  }
  ::execve(command.program.c_str(), command.argv.data(), command.envp.data());
  static const char kMessage[] = "process_runner: cannot execute the program\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(127);
}

int ExitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ProcessResult RunProcess(const ProcessOptions& options) {
  AnonymousFile in;
  AnonymousFile out;
  AnonymousFile err;
  in.Write(options.stdin_data);

  ChildCommand command(options);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw SystemError("fork");
  if (pid == 0) {
    ExecChild(command, in.fd(), out.fd(), err.fd());
  }
  ::setpgid(pid, pid);  // also here, against the race with the child's own call

  ProcessResult result;
  const auto deadline = start + options.timeout;
  auto pause = std::chrono::milliseconds(1);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw SystemError("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  result.out = out.ReadAll();
  result.err = err.ReadAll();
  return result;
}

pid_t StartBackgroundProcess(const ProcessOptions& options, const std::filesystem::path& out,
                             const std::filesystem::path& err) {
  const auto open = [](const std::filesystem::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) throw SystemError("open " + path.string());
    return fd;
  };
  const int in_fd = open("/dev/null", O_RDONLY);
  int out_fd = -1;
  int err_fd = -1;
  try {
    out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND);
    err_fd = open(err, O_WRONLY | O_CREAT | O_APPEND);
  } catch (...) {
    ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    throw;
  }
  ChildCommand command(options);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ExecChild(command, in_fd, out_fd, err_fd, /*background=*/true);
  }
  const int fork_errno = errno;
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) {
    errno = fork_errno;
    throw SystemError("fork");
  }
  ::setpgid(pid, pid);
  return pid;
}

bool BackgroundProcessEnded(pid_t pid, int* exit_status) {
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (done != pid) return false;
  *exit_status = ExitStatus(status);
  return true;
}

int WaitForBackgroundProcess(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int exit_status = -1;
  while (!BackgroundProcessEnded(pid, &exit_status)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      KillBackgroundProcess(pid);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_status;
}

void KillBackgroundProcess(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string ReadFileToString(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string ReadFileIfExists(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return "";
  try {
    return ReadFileToString(path);
  } catch (const std::exception&) {
    return "";
  }
}

void WriteStringToFile(const std::filesystem::path& path, const std::string& contents) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string Describe(const ProcessResult& r) {
  std::ostringstream out;
  out << "exit code " << r.exit_code;
  if (r.signal != 0) out << ", killed by signal " << r.signal;
  if (r.timed_out) out << ", TIMED OUT";
  out << " after " << r.seconds << "s\n--- stdout ---\n"
      << r.out.substr(0, 4000) << "\n--- stderr ---\n"
      << r.err.substr(0, 4000);
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace chatbot::testing
