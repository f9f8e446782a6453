// The HTTP request path up to the handler (server/http_server.h,
// http_connection.cc): bytes as a client sends them on one connection
// (request line, headers, bodies with Content-Length or chunked coding,
// pipelined requests, query strings), read by the real server over loopback
// TCP. The handler checks the request it is given and reads its query as the
// API's routes do. What holds: the server never crashes or hangs; every
// answer is an HTTP/1.1 response; the handler never sees a body over the
// limit, a header name not in lower case, or a path holding the query; and
// nothing is answered 500 (the handler does not throw).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "server/http_server.h"
#include "server/query_string.h"

using namespace chatbot;

namespace {

constexpr size_t kMaxBody = 4096;
constexpr size_t kMaxHeader = 2048;

class CheckingHandler final : public server::HttpHandler {
 public:
  void Handle(const server::HttpRequest& request, server::HttpResponse* response) override {
    FUZZ_CHECK(request.body.size() <= kMaxBody, "the handler got a body over the limit");
    FUZZ_CHECK(request.path.find('?') == std::string::npos, request.path);
    FUZZ_CHECK(request.target == (request.target.find('?') == std::string::npos
                                      ? request.path
                                      : request.path + "?" + request.query),
               request.target);
    for (const auto& [name, value] : request.headers) {
      for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), name);
      (void)value;
    }
    FUZZ_CHECK(!request.request_id.empty() && request.request_id.size() <= 128, request.request_id);
    // What the routes read from a request.
    int64_t limit = 0;
    if (const auto text = server::QueryParameter(request.query, "limit")) {
      server::ParseInteger(*text, &limit);
    }
    const std::optional<std::string> q = server::QueryParameter(request.query, "q");
    response->status = 200;
    response->body = "{\"path\":" + std::to_string(request.path.size()) +
                     ",\"body\":" + std::to_string(request.body.size()) +
                     ",\"q\":" + std::to_string(q ? q->size() : 0) +
                     ",\"content_type\":" + std::to_string(request.Header("content-type").size()) +
                     "}";
  }
};

server::HttpServer& Server() {
  static server::HttpServer* server = [] {
    server::HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    options.max_body_bytes = kMaxBody;
    options.max_header_bytes = kMaxHeader;
    options.read_timeout = std::chrono::milliseconds(5000);
    options.idle_timeout = std::chrono::milliseconds(5000);
    auto* s = new server::HttpServer(options, std::make_shared<CheckingHandler>());
    s->Start();
    return s;
  }();
  return *server;
}

// connect(), waiting out an interruption: libFuzzer's -timeout alarm
// (SIGALRM) interrupts blocking calls, and an interrupted connect goes on
// in the background until it succeeds or fails.
bool Connect(int fd, const sockaddr_in& address) {
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return true;
  if (errno != EINTR) return false;
  pollfd writable{fd, POLLOUT, 0};
  while (poll(&writable, 1, -1) < 0) {
    if (errno != EINTR) return false;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return false;
  errno = error;
  return error == 0;
}

// Sends `bytes`, closes the sending side, and returns all that came back.
std::string Exchange(std::string_view bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fuzz::Fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(Server().port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Closed with a reset, not a FIN: a thousand connections a second would
  // otherwise fill loopback's ephemeral ports with TIME-WAIT entries in
  // under a minute. The server's side still keeps its own; when they hold
  // every port, connect() fails with EADDRNOTAVAIL until some expire, which
  // says nothing about the server: wait for them (at most a minute).
  const linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  for (int attempt = 0;; ++attempt) {
    if (Connect(fd, address)) break;
    if (errno != EADDRNOTAVAIL || attempt == 600) {
      fuzz::Fail("cannot connect to the server under test", std::strerror(errno));
    }
    usleep(100'000);
  }
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server answered and closed early (a 400, say)
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[16384];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) fuzz::Fail("the server did not close in 10 s");
      break;  // reset after an early close
    }
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string answer = Exchange(fuzz::Text(data, size));
  // Every response the connection carried: a status line starts the answer
  // and each line beginning "HTTP/1." (no header value or body the server
  // writes here holds a line break).
  for (size_t at = 0; at < answer.size();) {
    if (at == 0 || answer.compare(at, 7, "HTTP/1.") == 0) {
      FUZZ_CHECK(answer.compare(at, 9, "HTTP/1.1 ") == 0 || answer.compare(at, 9, "HTTP/1.0 ") == 0,
                 answer);
      FUZZ_CHECK(at + 12 <= answer.size(), answer);
      const std::string status = answer.substr(at + 9, 3);
      FUZZ_CHECK(status != "500", answer);
      FUZZ_CHECK(status[0] >= '1' && status[0] <= '5', answer);
    }
    const size_t newline = answer.find('\n', at);
    if (newline == std::string::npos) break;
    at = newline + 1;
  }
  return 0;
}
