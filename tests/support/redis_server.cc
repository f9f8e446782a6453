#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A port the kernel just handed out on 127.0.0.1 (free a moment ago).
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool Reaped(pid_t pid, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

}  // namespace

RedisServer::RedisServer() = default;

RedisServer::~RedisServer() {
  Stop();
}

std::optional<fs::path> RedisServer::Binary() {
  std::vector<fs::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream parts(path);
    for (std::string dir; std::getline(parts, dir, ':');) {
      if (!dir.empty()) dirs.emplace_back(dir);
    }
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/usr/bin");
  for (const fs::path& dir : dirs) {
    const fs::path candidate = dir / "redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

void RedisServer::Start(milliseconds timeout) {
  if (running()) return;
  const std::optional<fs::path> binary = Binary();
  if (!binary) throw std::runtime_error("redis-server is not installed");
  if (port_ == 0) port_ = FreePort();
  // A file rather than arguments: `save ""` (no snapshots) survives no
  // quoting that way.
  const fs::path config = dir_.path() / "redis.conf";
  {
    std::ofstream out(config);
    out << "port " << port_ << "\n"
        << "bind 127.0.0.1\n"
        << "protected-mode yes\n"
        << "daemonize no\n"
        << "dir " << dir_.path().string() << "\n"
        << "logfile " << (dir_.path() / "redis.log").string() << "\n"
        << "save \"\"\n"
        << "appendonly no\n";
  }
  const std::string program = binary->string();
  const std::string config_text = config.string();
  std::vector<char*> argv = {const_cast<char*>(program.c_str()),
                             const_cast<char*>(config_text.c_str()), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = steady_clock::now() + timeout;
  while (Command("PING") != "+PONG") {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " exited at start:\n" + Log());
    }
    if (steady_clock::now() >= deadline) {
      Stop();
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " did not answer PING in time:\n" + Log());
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!Reaped(pid_, milliseconds(2000))) {
    ::kill(pid_, SIGKILL);
    Reaped(pid_, milliseconds(5000));
  }
  pid_ = -1;
}

std::string RedisServer::Url() const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisServer::Command(const std::string& command) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port_);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string line = command + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      char buffer[512];
      while (answer.find("\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        answer.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  const size_t end = answer.find("\r\n");
  return end == std::string::npos ? "" : answer.substr(0, end);
}

std::string RedisServer::Log() const {
  std::ifstream in(dir_.path() / "redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace chatbot::testing
