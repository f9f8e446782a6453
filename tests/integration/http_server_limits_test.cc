// The HTTP server over real sockets, over time: read and idle timeouts,
// connection limits overall and per address, graceful and forced stops,
// the response callback and a busy port (http_server_fixture.h).
#include "http_server_fixture.h"

namespace chatbot::server {
namespace {

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
