#include "nginx_server.h"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "free_port.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kShippedDir = fs::path(CHATBOT_SOURCE_DIR) / "deploy" / "nginx";

// Replaces the one line of `text` matching `line`; throws when there is not
// exactly one.
std::string ReplaceLine(const std::string& text, const std::string& line,
                        const std::string& replacement, const std::string& file) {
  const std::regex pattern("^[ \\t]*" + line + "[ \\t]*$", std::regex::multiline);
  const auto matches = std::distance(std::sregex_iterator(text.begin(), text.end(), pattern),
                                     std::sregex_iterator());
  if (matches != 1) {
    throw std::runtime_error(file + ": expected one line matching '" + line + "', found " +
                             std::to_string(matches));
  }
  return std::regex_replace(text, pattern, "    " + replacement);
}

bool Accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

fs::path NginxProgram() {
  for (const char* candidate : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

std::string ShippedChatbotSite(uint16_t port, const fs::path& access_log) {
  const fs::path file = kShippedDir / "chatbot.conf";
  std::string text = ReadFileToString(file);
  text = ReplaceLine(text, "listen 8080;", "listen 127.0.0.1:" + std::to_string(port) + ";",
                     file.string());
  return ReplaceLine(text, "access_log /var/log/nginx/chatbot-access\\.log (.*)",
                     "access_log " + access_log.string() + " $1", file.string());
}

std::string ShippedUpstreams(const std::vector<std::string>& addresses) {
  const fs::path file = kShippedDir / "chatbot-upstreams.conf";
  const std::string text = ReadFileToString(file);
  std::smatch match;
  static const std::regex kServer(R"(^server [^ ;]+( [^;]*)?;)", std::regex::multiline);
  if (!std::regex_search(text, match, kServer)) {
    throw std::runtime_error(file.string() + ": no 'server ADDRESS ...;' line");
  }
  std::string out;
  for (const std::string& address : addresses) out += "server " + address + match[1].str() + ";\n";
  return out;
}

NginxServer::NginxServer(NginxOptions options) : options_(std::move(options)) {}

NginxServer::~NginxServer() {
  if (running()) KillBackgroundProcess(pid_);
}

NginxOptions ShippedLoadBalancer(const fs::path& dir, const std::vector<std::string>& addresses) {
  NginxOptions options;
  options.dir = dir;
  const fs::path access_log = dir / "logs" / "access.log";
  options.site = [access_log](uint16_t port) { return ShippedChatbotSite(port, access_log); };
  options.files["chatbot-upstreams.conf"] = ShippedUpstreams(addresses);
  return options;
}

fs::path NginxServer::AccessLogPath() const {
  return options_.dir / "logs" / "access.log";
}

std::string NginxServer::ErrorLog() const {
  return ReadFileIfExists(options_.dir / "logs" / "error.log");
}

void NginxServer::WriteConfiguration(uint16_t port) {
  const fs::path& dir = options_.dir;
  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "temp");
  std::ostringstream main;
  main << "# Written by tests/support/nginx_server.cc for one test.\n";
  // As root, the workers would run as nobody, who cannot enter the test's
  // private temporary directory (their request and response buffers
  // spill there); the test's own user is enough for loopback tests.
  if (::geteuid() == 0) {
    if (const passwd* user = ::getpwuid(0)) main << "user " << user->pw_name << ";\n";
  }
  main << "worker_processes " << options_.worker_processes << ";\n"
       << "error_log " << (dir / "logs" / "error.log").string() << " notice;\n"
       << "events { worker_connections 1024; }\n"
       << "http {\n";
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    main << "  " << kind << "_temp_path " << (dir / "temp" / kind).string() << ";\n";
  }
  main << "  include site.conf;\n}\n";
  WriteStringToFile(dir / "nginx.conf", main.str());
  WriteStringToFile(dir / "site.conf", options_.site(port));
  for (const auto& [name, contents] : options_.files) WriteStringToFile(dir / name, contents);
}

std::vector<std::string> NginxServer::Arguments(bool test_only) const {
  const fs::path& dir = options_.dir;
  std::vector<std::string> args;
  if (test_only) args.push_back("-t");
  args.insert(args.end(), {"-p", dir.string() + "/", "-c", (dir / "nginx.conf").string(), "-e",
                           (dir / "logs" / "error.log").string(), "-g",
                           "daemon off; pid " + (dir / "nginx.pid").string() + ";"});
  return args;
}

ProcessResult NginxServer::TestConfiguration() {
  WriteConfiguration(FreeLoopbackPort());
  ProcessOptions options;
  options.program = NginxProgram();
  options.args = Arguments(/*test_only=*/true);
  options.working_directory = options_.dir;
  options.timeout = std::chrono::seconds(30);
  return RunProcess(options);
}

bool NginxServer::StartOn(uint16_t port) {
  WriteConfiguration(port);
  ProcessOptions options;
  options.program = NginxProgram();
  options.args = Arguments(/*test_only=*/false);
  options.working_directory = options_.dir;
  const fs::path err = options_.dir / "nginx.stderr";
  fs::remove(err);
  fs::remove(options_.dir / "logs" / "error.log");
  pid_ = StartBackgroundProcess(options, options_.dir / "nginx.stdout", err);
  port_ = port;
  const Clock::time_point deadline = Clock::now() + options_.ready_timeout;
  while (true) {
    int status = 0;
    if (BackgroundProcessEnded(pid_, &status)) {
      pid_ = -1;
      if (Describe().find("Address already in use") != std::string::npos) return false;
      throw std::runtime_error("nginx exited with status " + std::to_string(status) +
                               " before it was ready\n" + Describe());
    }
    if (Accepts(port)) return true;
    if (Clock::now() >= deadline) {
      KillBackgroundProcess(pid_);
      pid_ = -1;
      throw std::runtime_error("nginx was not ready within " +
                               std::to_string(options_.ready_timeout.count()) + " ms\n" +
                               Describe());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void NginxServer::Start() {
  if (running()) throw std::runtime_error("nginx is already running");
  if (NginxProgram().empty()) throw std::runtime_error("nginx is not installed");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (StartOn(FreeLoopbackPort())) return;
  }
  throw std::runtime_error("nginx found no free port in 5 attempts\n" + Describe());
}

void NginxServer::Stop(std::chrono::milliseconds timeout) {
  if (!running()) return;
  ::kill(pid_, SIGQUIT);
  WaitForBackgroundProcess(pid_, timeout);
  pid_ = -1;
}

std::string NginxServer::Describe() const {
  std::ostringstream out;
  out << "command: " << NginxProgram().string();
  for (const std::string& arg : Arguments(/*test_only=*/false)) out << ' ' << arg;
  out << "\n--- stderr ---\n"
      << ReadFileIfExists(options_.dir / "nginx.stderr").substr(0, 4000) << "\n--- error.log ---\n"
      << ErrorLog().substr(0, 4000);
  return out.str();
}

}  // namespace chatbot::testing
