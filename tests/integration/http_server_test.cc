// The HTTP server over real sockets: a POSIX client writes exact bytes and
// parses the responses itself, so framing, keep-alive, pipelining, limits,
// timeouts and shutdown are checked as a client on the wire sees them.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
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

namespace chatbot::server {
namespace {

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

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string Post(const std::string& target, const std::string& body,
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

TEST_F(HttpServerTest, GetAndPostRoundTrip) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(Get("/v1/echo?limit=10&x=y", "X-Test: Hello\r\n")));
  auto get = client.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->Header("server"), "chatbot");
  EXPECT_EQ(get->Header("content-type"), "text/plain");
  EXPECT_EQ(get->Header("content-length"), std::to_string(get->body.size()));
  EXPECT_FALSE(get->Header("date").empty());
  EXPECT_EQ(get->Header("connection"), "");
  EXPECT_NE(get->body.find("method=GET\n"), std::string::npos);
  EXPECT_NE(get->body.find("target=/v1/echo?limit=10&x=y\n"), std::string::npos);
  EXPECT_NE(get->body.find("path=/v1/echo\n"), std::string::npos);
  EXPECT_NE(get->body.find("query=limit=10&x=y\n"), std::string::npos);
  EXPECT_NE(get->body.find("client=127.0.0.1:"), std::string::npos);
  EXPECT_NE(get->body.find("x-test=Hello\n"), std::string::npos);  // names lower-cased
  EXPECT_NE(get->body.find("h:host=test\n"), std::string::npos);

  ASSERT_TRUE(client.Send(Post("/v1/chat", R"({"message":"hi"})")));
  auto post = client.Read();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_NE(post->body.find("method=POST\n"), std::string::npos);
  EXPECT_NE(post->body.find("query=\n"), std::string::npos);
  EXPECT_NE(post->body.find(R"(body={"message":"hi"})"), std::string::npos);

  ASSERT_TRUE(client.Send(Get("/extra")));
  auto extra = client.Read();
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->Header("x-extra"), "yes");
}

TEST_F(HttpServerTest, ChunkedBodyAndExpectContinue) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto chunked = client.Read();
  ASSERT_TRUE(chunked);
  EXPECT_NE(chunked->body.find("body=hello world"), std::string::npos);

  // The client waits for "100 Continue" before it sends the body.
  ASSERT_TRUE(client.Send(
      "POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = client.Read(/*head=*/true);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("ping"));
  auto final_response = client.Read();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->status, 200);
  EXPECT_NE(final_response->body.find("body=ping"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  Client client(port());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client.Send(Get("/n?i=" + std::to_string(i))));
    auto response = client.Read();
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("query=i=" + std::to_string(i) + "\n"), std::string::npos);
  }
  EXPECT_EQ(server_->open_connections(), 1);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/first") + Post("/second", "payload") + Get("/third")));
  auto first = client.Read();
  auto second = client.Read();
  auto third = client.Read();
  ASSERT_TRUE(first && second && third);
  EXPECT_NE(first->body.find("path=/first\n"), std::string::npos);
  EXPECT_NE(second->body.find("path=/second\n"), std::string::npos);
  EXPECT_NE(second->body.find("body=payload"), std::string::npos);
  EXPECT_NE(third->body.find("path=/third\n"), std::string::npos);
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10AreHonoured) {
  StartServer();
  {
    Client client(port());
    ASSERT_TRUE(client.Send(Get("/bye", "Connection: close\r\n")));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->Header("connection"), "close");
    EXPECT_TRUE(client.ClosedWithin(milliseconds(1000)));
  }
  {
    Client client(port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.ClosedWithin(milliseconds(1000)));
  }
  {
    Client client(port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->Header("connection"), "keep-alive");
    ASSERT_TRUE(client.Send("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_TRUE(client.Read());
  }
}

TEST_F(HttpServerTest, OversizedBodyGets413AndClose) {
  options_.max_body_bytes = 1024;
  StartServer();
  Client client(port());
  // The whole body is sent, as a client that does not wait would: the
  // server must still deliver its answer before closing.
  ASSERT_TRUE(client.Send(Post("/big", std::string(100000, 'x'))));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_NE(response->body.find(R"({"error":{"code":"payload_too_large","message":")"),
            std::string::npos);
  EXPECT_TRUE(client.ClosedWithin(milliseconds(3000)));

  // A body at the limit is fine.
  Client ok(port());
  ASSERT_TRUE(ok.Send(Post("/fits", std::string(1024, 'y'))));
  auto fits = ok.Read();
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);
}

TEST_F(HttpServerTest, OversizedChunkedBodyGets413) {
  options_.max_body_bytes = 8;
  StartServer();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  options_.max_header_bytes = 1024;
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_NE(response->body.find(R"("code":"header_too_large")"), std::string::npos);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.ClosedWithin(milliseconds(3000)));
}

TEST_F(HttpServerTest, GarbageGets400) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send("this is not HTTP at all\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find(R"({"error":{"code":"bad_request","message":")"),
            std::string::npos);
  EXPECT_FALSE(response->Header("x-request-id").empty());
  EXPECT_TRUE(client.ClosedWithin(milliseconds(3000)));
}

TEST_F(HttpServerTest, RequestIdIsEchoedOrGenerated) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/", "X-Request-ID: abc-123\r\n")));
  auto echoed = client.Read();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->Header("x-request-id"), "abc-123");
  EXPECT_NE(echoed->body.find("id=abc-123\n"), std::string::npos);

  ASSERT_TRUE(client.Send(Get("/")));
  auto generated = client.Read();
  ASSERT_TRUE(generated);
  std::string id = generated->Header("x-request-id");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(generated->body.find("id=" + id + "\n"), std::string::npos);

  ASSERT_TRUE(client.Send(Get("/")));
  auto another = client.Read();
  ASSERT_TRUE(another);
  EXPECT_NE(another->Header("x-request-id"), id);

  // Too long, or with bytes outside printable ASCII: replaced.
  ASSERT_TRUE(client.Send(Get("/", "X-Request-ID: " + std::string(129, 'a') + "\r\n")));
  auto too_long = client.Read();
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->Header("x-request-id").size(), 16u);
  ASSERT_TRUE(client.Send(Get("/", "X-Request-ID: caf\xc3\xa9\r\n")));
  auto non_ascii = client.Read();
  ASSERT_TRUE(non_ascii);
  EXPECT_EQ(non_ascii->Header("x-request-id").size(), 16u);
}

TEST_F(HttpServerTest, HandlerExceptionGives500WithoutInternals) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/throw")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, R"({"error":{"code":"internal","message":"internal error"}})");
  EXPECT_EQ(response->body.find("secret"), std::string::npos);
  // The connection survives.
  ASSERT_TRUE(client.Send(Get("/fine")));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, HeadHasNoBody) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_NE(std::stoul(head->Header("content-length")), 0u);
  // Were a body sent, it would be read as the next response's status line.
  ASSERT_TRUE(client.Send(Get("/after")));
  auto after = client.Read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_NE(after->body.find("path=/after\n"), std::string::npos);
}

TEST_F(HttpServerTest, ReadTimeoutClosesStalledRequest) {
  options_.read_timeout = milliseconds(300);
  options_.idle_timeout = milliseconds(5000);
  StartServer();
  Client client(port());
  const auto start = Clock::now();
  ASSERT_TRUE(client.Send("GET /stalled HTTP/1.1\r\nHost: t\r\n"));  // header never ends
  EXPECT_TRUE(client.ClosedWithin(milliseconds(2500)));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(250));
  EXPECT_LT(elapsed, milliseconds(2500));
}

TEST_F(HttpServerTest, ReadTimeoutStartsAtTheFirstByte) {
  options_.read_timeout = milliseconds(200);
  options_.idle_timeout = milliseconds(5000);
  StartServer();
  Client client(port());
  std::this_thread::sleep_for(milliseconds(400));  // idle, not reading a request
  ASSERT_TRUE(client.Send(Get("/late")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, IdleTimeoutClosesKeepAliveConnection) {
  options_.read_timeout = milliseconds(5000);
  options_.idle_timeout = milliseconds(300);
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/")));
  ASSERT_TRUE(client.Read());
  const auto start = Clock::now();
  EXPECT_TRUE(client.ClosedWithin(milliseconds(2500)));
  EXPECT_GE(Clock::now() - start, milliseconds(250));
}

TEST_F(HttpServerTest, MaxConnectionsRejectsWith503) {
  options_.max_connections = 2;
  StartServer();
  Client first(port());
  Client second(port());
  for (Client* client : {&first, &second}) {
    ASSERT_TRUE(client->Send(Get("/")));
    auto response = client->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server_->open_connections(), 2);

  Client third(port());
  ASSERT_TRUE(third.Send(Get("/")));
  auto rejected = third.Read();
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 503);
  EXPECT_NE(rejected->body.find(R"("code":"overloaded")"), std::string::npos);
  EXPECT_EQ(rejected->Header("connection"), "close");
  EXPECT_TRUE(third.ClosedWithin(milliseconds(3000)));

  // Once a slot frees up, new connections are served again.
  ASSERT_TRUE(first.Send(Get("/", "Connection: close\r\n")));
  ASSERT_TRUE(first.Read());
  EXPECT_TRUE(first.ClosedWithin(milliseconds(2000)));
  for (int i = 0; i < 100 && server_->open_connections() > 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  Client fourth(port());
  ASSERT_TRUE(fourth.Send(Get("/")));
  auto served = fourth.Read();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

TEST_F(HttpServerTest, ConnectionsPerAddressBeyondTheLimitGet429) {
  options_.max_connections_per_address = 2;
  StartServer();
  Client first(port());
  Client second(port());
  for (Client* client : {&first, &second}) {
    ASSERT_TRUE(client->Send(Get("/")));
    ASSERT_TRUE(client->Read());
  }
  Client third(port());
  ASSERT_TRUE(third.Send(Get("/")));
  auto rejected = third.Read();
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 429);
  EXPECT_NE(rejected->body.find(R"("code":"too_many_connections")"), std::string::npos);
  EXPECT_EQ(rejected->Header("retry-after"), "1");
  EXPECT_TRUE(third.ClosedWithin(milliseconds(3000)));

  // Another address is served meanwhile (all of 127/8 is loopback).
  Client other(port(), INADDR_LOOPBACK + 1);
  ASSERT_TRUE(other.Send(Get("/")));
  auto served = other.Read();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);

  // Once one of the address's connections closes, it may open another.
  ASSERT_TRUE(first.Send(Get("/", "Connection: close\r\n")));
  ASSERT_TRUE(first.Read());
  EXPECT_TRUE(first.ClosedWithin(milliseconds(2000)));
  for (int i = 0; i < 100 && server_->open_connections() > 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  Client fourth(port());
  ASSERT_TRUE(fourth.Send(Get("/")));
  auto again = fourth.Read();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, GracefulStopFinishesRequestInFlight) {
  options_.shutdown_timeout = milliseconds(3000);
  StartServer();
  const uint16_t bound = port();
  Client idle(bound);
  ASSERT_TRUE(idle.Send(Get("/")));
  ASSERT_TRUE(idle.Read());

  Client busy(bound);
  ASSERT_TRUE(busy.Send(Get("/slow")));
  std::this_thread::sleep_for(milliseconds(100));  // the handler is sleeping now
  const auto start = Clock::now();
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });

  auto response = busy.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(busy.ClosedWithin(milliseconds(2000)));
  EXPECT_TRUE(idle.ClosedWithin(milliseconds(2000)));
  stopped.get();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));  // did not wait for the deadline
  EXPECT_EQ(server_->open_connections(), 0);

  Client late(bound);
  if (late.connected()) {
    late.Send(Get("/"));
    EXPECT_FALSE(late.Read());
  }
  server_->Wait();  // returns at once: already stopped
  server_->Stop();  // and stopping again is harmless
}

TEST_F(HttpServerTest, StopClosesConnectionsPastTheDeadline) {
  options_.read_timeout = milliseconds(10000);
  options_.shutdown_timeout = milliseconds(200);
  StartServer();
  Client stalled(port());
  ASSERT_TRUE(stalled.Send("GET / HTTP/1.1\r\n"));  // a request that never completes
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
  EXPECT_TRUE(stalled.ClosedWithin(milliseconds(1000)));
}

TEST_F(HttpServerTest, WaitReturnsAfterStopFromAnotherThread) {
  StartServer();
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    server_->Stop();
  });
  server_->Wait();
  stopper.join();
  Client client(port());
  EXPECT_FALSE(client.connected());
}

TEST_F(HttpServerTest, StopFromAHandlerDoesNotDeadlock) {
  handler_->on_stop = [this] { server_->Stop(); };
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/stop")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "close");
  server_->Wait();
  server_.reset();  // joins the thread that carried out the stop
}

TEST_F(HttpServerTest, OnResponseReportsEveryResponse) {
  struct Entry {
    std::string method, path, id;
    int status;
    int64_t latency_us;
  };
  std::mutex mu;
  std::vector<Entry> entries;
  options_.on_response = [&](const HttpRequest& request, const HttpResponse& response,
                             int64_t latency_us) {
    std::lock_guard lock(mu);
    entries.push_back(
        {request.method, request.path, request.request_id, response.status, latency_us});
  };
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/a", "X-Request-ID: r1\r\n")));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(client.Send(Get("/throw")));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(client.Send(Get("/slow")));
  ASSERT_TRUE(client.Read());
  Client bad(port());
  ASSERT_TRUE(bad.Send("nonsense\r\n\r\n"));
  ASSERT_TRUE(bad.Read());
  ASSERT_TRUE(bad.ClosedWithin(milliseconds(2000)));

  std::lock_guard lock(mu);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].method, "GET");
  EXPECT_EQ(entries[0].path, "/a");
  EXPECT_EQ(entries[0].id, "r1");
  EXPECT_EQ(entries[0].status, 200);
  EXPECT_GE(entries[0].latency_us, 0);
  EXPECT_EQ(entries[1].status, 500);
  EXPECT_EQ(entries[2].status, 200);
  EXPECT_GE(entries[2].latency_us, 300000);  // includes the handler's 300 ms
  EXPECT_EQ(entries[3].status, 400);
}

TEST_F(HttpServerTest, StartFailsOnBusyPortNamingTheAddress) {
  StartServer();
  HttpServerOptions options = options_;
  options.port = port();
  HttpServer second(options, std::make_shared<TestHandler>());
  try {
    second.Start();
    FAIL() << "Start() should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(port())),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace chatbot::server
