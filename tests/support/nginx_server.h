// nginx run by the tests in front of real `chatbot serve` instances, on
// the shipped configuration (deploy/nginx/chatbot.conf): a prefix directory
// of its own holds a generated main nginx.conf (worker count, error log,
// temporary files, then `include site.conf`), the site file and any other
// file the site includes (chatbot-upstreams.conf). nginx runs in the
// foreground as
//
//   nginx -p DIR/ -c DIR/nginx.conf -e DIR/logs/error.log
//         -g 'daemon off; pid DIR/nginx.pid;'
//
// as root or not, on a free 127.0.0.1 port that Start() picks (nginx cannot
// listen on port 0 and say which port it got), and is stopped by its PID.
//
// The shipped site is used as it is, but for the two lines that name this
// machine's places, replaced: `listen 8080;` and the access log's path.
#ifndef CHATBOT_TESTS_SUPPORT_NGINX_SERVER_H_
#define CHATBOT_TESTS_SUPPORT_NGINX_SERVER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "process_runner.h"

namespace chatbot::testing {

// The nginx program, or an empty path when nginx is not installed
// (scripts/setup.sh installs it; tests CHATBOT_SKIP without it).
std::filesystem::path NginxProgram();

// deploy/nginx/chatbot.conf listening on 127.0.0.1:`port` and logging to
// `access_log`. Throws std::runtime_error when either line is not found.
std::string ShippedChatbotSite(uint16_t port, const std::filesystem::path& access_log);

// chatbot-upstreams.conf for instances at `addresses`, each as nginx names
// one ("127.0.0.1:8081", "unix:/run/chatbot/instance-1.sock"): the shipped
// file's first `server` line (with its health-check parameters) once per
// address. Throws std::runtime_error when the shipped file has none.
std::string ShippedUpstreams(const std::vector<std::string>& addresses);

struct NginxOptions {
  std::filesystem::path dir;  // the prefix; created when missing
  // The http-context configuration for the port nginx is to listen on.
  std::function<std::string(uint16_t port)> site;
  // Files the site includes, by name, written beside nginx.conf.
  std::map<std::string, std::string> files;
  int worker_processes = 1;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(10);
};

// The options of nginx on the shipped site (ShippedChatbotSite, its access
// log in `dir`/logs) in front of instances at `addresses`
// (ShippedUpstreams): the load balancer as deployed.
NginxOptions ShippedLoadBalancer(const std::filesystem::path& dir,
                                 const std::vector<std::string>& addresses);

class NginxServer {
 public:
  explicit NginxServer(NginxOptions options);
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  // Writes the configuration for a free port, starts nginx and waits until
  // the port accepts connections; another port is tried when this one was
  // taken meanwhile. Throws std::runtime_error (with nginx's messages) when
  // nginx exits or is not ready in time.
  void Start();
  // `nginx -t` of the configuration for a free port (the server is not
  // started).
  ProcessResult TestConfiguration();
  // SIGQUIT (graceful: requests in flight finish), then waits; the process
  // group is killed after `timeout`.
  void Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  std::filesystem::path AccessLogPath() const;
  std::string ErrorLog() const;
  // For assertion messages: the command line, stderr and the error log.
  std::string Describe() const;

 private:
  void WriteConfiguration(uint16_t port);
  std::vector<std::string> Arguments(bool test_only) const;
  // Starts nginx on `port`: false when it exited because the port was taken.
  bool StartOn(uint16_t port);

  NginxOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_SUPPORT_NGINX_SERVER_H_
