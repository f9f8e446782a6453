// What the HTTP server tests over real sockets share (http_server_test.cc,
// http_server_limits_test.cc): a handler that answers by path, a blocking
// POSIX client that writes exact bytes and parses the responses itself, and
// a fixture that starts the server on a free loopback port.
// (http_server_unix_socket_test.cc too.)
#ifndef CHATBOT_TESTS_INTEGRATION_HTTP_SERVER_FIXTURE_H_
#define CHATBOT_TESTS_INTEGRATION_HTTP_SERVER_FIXTURE_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "server/http_server.h"

namespace chatbot::server {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Answers by path:
//   /slow    sleeps 300 ms, then echoes
//   /throw   throws an exception carrying a secret
//   /extra   adds an extra response header
//   /stop    runs on_stop (which may stop the server from its own thread)
//   anything else: echoes the request as "key=value" lines (text/plain)
class TestHandler : public HttpHandler {
 public:
  void Handle(const HttpRequest& request, HttpResponse* response) override {
    if (request.path == "/throw") throw std::runtime_error("secret database password");
    if (request.path == "/slow") std::this_thread::sleep_for(milliseconds(300));
    if (request.path == "/extra") response->headers.emplace_back("X-Extra", "yes");
    if (request.path == "/stop" && on_stop) on_stop();
    response->content_type = "text/plain";
    std::string& out = response->body;
    out += "method=" + request.method + "\n";
    out += "target=" + request.target + "\n";
    out += "path=" + request.path + "\n";
    out += "query=" + request.query + "\n";
    out += "client=" + request.client_address + "\n";
    out += "id=" + request.request_id + "\n";
    out += "x-test=" + std::string(request.Header("x-test")) + "\n";
    for (const auto& [name, value] : request.headers) out += "h:" + name + "=" + value + "\n";
    out += "body=" + request.body;
  }

  std::function<void()> on_stop;  // run by /stop
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A blocking client on a raw socket; every read gives up after 3 s so that a
// broken server fails the test instead of hanging it.
class Client {
 public:
  // `source`: the loopback address to connect from (127.0.0.1 by default).
  explicit Client(uint16_t port, uint32_t source = INADDR_LOOPBACK) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(source);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  // Connects to a Unix-domain socket instead (server.unix_socket).
  explicit Client(const std::string& unix_socket) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, unix_socket.c_str(), sizeof(address.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt when the connection closed first.
  // `head`: the request was HEAD, so no body follows whatever the length.
  std::optional<Response> Read(bool head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response response;
    std::string header = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = header.find("\r\n");
    std::string status_line = header.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      size_t start = line_end + 2;
      line_end = header.find("\r\n", start);
      std::string line = header.substr(start, line_end - start);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t value_start = line.find_first_not_of(' ', colon + 1);
      response.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
    }
    size_t length = head ? 0 : std::stoul(response.Header("content-length"));
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // Whether the server closes the connection (EOF or reset) within `limit`;
  // any bytes that arrive before are discarded.
  bool ClosedWithin(milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return true;
    }
  }

  // Bytes already received beyond the responses read.
  const std::string& pending() const { return buffer_; }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 3000) <= 0) return false;
    char chunk[8192];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

inline std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

inline std::string Post(const std::string& target, const std::string& body,
                        const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.threads = 2;
    options_.read_timeout = milliseconds(2000);
    options_.idle_timeout = milliseconds(2000);
    options_.shutdown_timeout = milliseconds(2000);
  }

  void StartServer() {
    server_ = std::make_unique<HttpServer>(options_, handler_);
    server_->Start();
    ASSERT_NE(server_->port(), 0);
  }

  uint16_t port() const { return server_->port(); }

  HttpServerOptions options_;
  std::shared_ptr<TestHandler> handler_ = std::make_shared<TestHandler>();
  std::unique_ptr<HttpServer> server_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_TESTS_INTEGRATION_HTTP_SERVER_FIXTURE_H_
