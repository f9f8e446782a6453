// The HTTP server's request framing (RFC 9112 sections 6.1 and 6.3) and its
// worker pool for expensive requests, over real sockets: a request whose
// Transfer-Encoding does not end in chunked is refused with 400 and the
// connection closed, so that the bytes after it can never be served as a
// second request (request smuggling); HTTP/1.0 with Transfer-Encoding is
// answered and closed; and a request the server hands to its worker pool
// does not hold up the I/O thread that other connections share.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "server/http_server.h"

namespace chatbot::server {
namespace {

using chatbot::testing::HttpClient;
using chatbot::testing::HttpResult;
using chatbot::testing::ParseResponses;
using chatbot::testing::RawResult;
using std::chrono::milliseconds;

// Echoes the path and body; /blocking waits until the test releases it.
class EchoHandler : public HttpHandler {
 public:
  void Handle(const HttpRequest& request, HttpResponse* response) override {
    if (request.path == "/blocking") release.wait_for(std::chrono::seconds(10));
    response->content_type = "text/plain";
    response->body = "path=" + request.path + "\nbody=" + request.body;
  }
  std::shared_future<void> release;
};

class HttpFramingTest : public ::testing::Test {
 protected:
  void StartServer() {
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.read_timeout = milliseconds(2000);
    options_.idle_timeout = milliseconds(2000);
    server_ = std::make_unique<HttpServer>(options_, handler_);
    server_->Start();
  }

  // Sends `bytes` on a fresh connection; the responses that came back and
  // whether the server closed the connection.
  std::vector<HttpResult> Exchange(const std::string& bytes, bool* closed) {
    HttpClient client(server_->port());
    const RawResult raw = client.SendRaw(bytes, milliseconds(1500));
    *closed = raw.closed;
    return ParseResponses(raw.data);
  }

  HttpServerOptions options_;
  std::shared_ptr<EchoHandler> handler_ = std::make_shared<EchoHandler>();
  std::unique_ptr<HttpServer> server_;
};

const char kSmuggled[] = "GET /v2/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

std::string PostWith(const std::string& transfer_encoding_lines) {
  return "POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         transfer_encoding_lines + "\r\n" + kSmuggled;
}

TEST_F(HttpFramingTest, TransferEncodingNotEndingInChunkedIs400AndClosed) {
  StartServer();
  for (const std::string te :
       {"Transfer-Encoding: identity\r\n", "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        "Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: \r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
    SCOPED_TRACE(te);
    bool closed = false;
    const std::vector<HttpResult> responses = Exchange(PostWith(te), &closed);
    ASSERT_EQ(responses.size(), 1u) << "the bytes after the request were served as a request";
    EXPECT_EQ(responses[0].status, 400) << responses[0].Describe();
    EXPECT_NE(responses[0].body.find("Transfer-Encoding"), std::string::npos)
        << responses[0].Describe();
    EXPECT_EQ(responses[0].Header("connection"), "close");
    EXPECT_TRUE(closed);
  }
}

TEST_F(HttpFramingTest, OtherCodingsBeforeChunkedAre501AndClosed) {
  StartServer();
  bool closed = false;
  const std::vector<HttpResult> responses = Exchange(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n" +
          std::string(kSmuggled),
      &closed);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 501) << responses[0].Describe();
  EXPECT_TRUE(closed);
}

TEST_F(HttpFramingTest, ChunkedInAnyCaseIsServedAndKeepsTheConnection) {
  StartServer();
  bool closed = true;
  const std::vector<HttpResult> responses = Exchange(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n" +
          std::string(kSmuggled),
      &closed);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].body, "path=/c\nbody=hello");
  EXPECT_EQ(responses[1].body, "path=/v2/smuggled\nbody=");
  EXPECT_FALSE(closed);  // a well-framed pipeline stays open
}

TEST_F(HttpFramingTest, Http10WithTransferEncodingIsAnsweredThenClosed) {
  StartServer();
  bool closed = false;
  const std::vector<HttpResult> responses = Exchange(
      "POST /c HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n" +
          std::string(kSmuggled),
      &closed);
  ASSERT_EQ(responses.size(), 1u) << "an HTTP/1.0 request with Transfer-Encoding was kept open";
  EXPECT_EQ(responses[0].Header("connection"), "close");
  EXPECT_TRUE(closed);
}

TEST_F(HttpFramingTest, OffloadedRequestsDoNotHoldTheIoThread) {
  // One I/O thread: were /blocking run on it, /fast would wait behind it.
  options_.threads = 1;
  options_.offload = [](const HttpRequest& request) { return request.path == "/blocking"; };
  options_.offload_threads = 2;
  std::promise<void> release;
  handler_->release = release.get_future().share();
  StartServer();
  auto blocked = std::async(std::launch::async, [this] {
    HttpClient client(server_->port());
    return client.Get("/blocking").status;
  });
  std::this_thread::sleep_for(milliseconds(200));  // /blocking is in its handler by now
  HttpClient fast(server_->port(), "127.0.0.1", milliseconds(3000));
  HttpResult answer;
  EXPECT_NO_THROW(answer = fast.Get("/fast"));
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(blocked.wait_for(milliseconds(0)), std::future_status::timeout)
      << "/blocking finished before it was released";
  release.set_value();
  EXPECT_EQ(blocked.get(), 200);
}

TEST_F(HttpFramingTest, OffloadQueueBeyondItsLimitIs503WithRetryAfter) {
  options_.offload = [](const HttpRequest& request) { return request.path == "/blocking"; };
  options_.offload_threads = 1;
  options_.offload_queue = 1;  // one running, one waiting
  std::promise<void> release;
  handler_->release = release.get_future().share();
  StartServer();
  std::vector<std::future<int>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::async(std::launch::async, [this] {
      HttpClient client(server_->port());
      return client.Get("/blocking").status;
    }));
    std::this_thread::sleep_for(milliseconds(150));
  }
  HttpClient third(server_->port());
  const HttpResult refused = third.Get("/blocking");
  EXPECT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_FALSE(refused.Header("retry-after").empty());
  release.set_value();
  for (auto& f : held) EXPECT_EQ(f.get(), 200);
}

}  // namespace
}  // namespace chatbot::server
