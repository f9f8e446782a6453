// The HTTP server over real sockets: framing as a client on the wire sees
// it (bodies by length and chunked, 100-continue, keep-alive, pipelining,
// Connection: close and HTTP/1.0), size limits, bad requests, request ids,
// a handler's exception and HEAD (http_server_fixture.h).
#include "http_server_fixture.h"

namespace chatbot::server {
namespace {

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

}  // namespace
}  // namespace chatbot::server
