// Integration tests of the HTTP API (docs/api.md) over time and under
// stress: keep-alive, pipelining and slow clients, clarification and
// concurrent turns of one session, restarts, reloads under load, SIGKILL,
// the access log and SIGTERM. Each starts the real `chatbot serve` in a
// fresh temporary directory (api_fixture.h).
#include "api_fixture.h"

namespace chatbot::testing {
namespace {

// ---------------------------------------------------------------------------
// Connections

TEST_F(ApiTest, KeepAliveServesTwoHundredRequestsOnOneConnection) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  for (int i = 0; i < 200; ++i) {
    const HttpResult r =
        i % 2 == 0 ? client.Get("/health")
                   : client.Post("/v1/parse", json::object{{"text", "where is my order"}});
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
    EXPECT_NE(r.Header("connection"), "close");
  }
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_TRUE(client.connected());
}

TEST_F(ApiTest, PipelinedRequestsAreAnsweredInOrder) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const auto post = [](const std::string& id, const std::string& text, bool close) {
    const std::string body = R"({"text": ")" + text + R"("})";
    return "POST /v1/parse HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
           "X-Request-ID: " +
           id + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           (close ? "Connection: close\r\n" : "") + "\r\n" + body;
  };
  // Two requests written at once.
  const RawResult two = client.SendRaw(
      post("first", "hello there", false) + post("second", "where is my order", true),
      milliseconds(10000));
  EXPECT_TRUE(two.closed) << two.data;
  std::string rest;
  const std::vector<HttpResult> responses = ParseResponses(two.data, &rest);
  ASSERT_EQ(responses.size(), 2u) << two.data;
  EXPECT_EQ(rest, "");
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].Header("x-request-id"), "first");
  EXPECT_EQ(Str(At(Body(responses[0]), "intent")), "greeting");
  EXPECT_EQ(responses[1].status, 200);
  EXPECT_EQ(responses[1].Header("x-request-id"), "second");
  EXPECT_EQ(Str(At(Body(responses[1]), "intent")), "order_status");

  // Three, of different kinds and speeds, the last one an error.
  const RawResult three = client.SendRaw(
      "GET /v1/parse/batch HTTP/1.1\r\nHost: test\r\nX-Request-ID: a\r\n\r\n" +
          post("b", "I want to return these shoes", false) +
          "GET /v2/nothing HTTP/1.1\r\nHost: test\r\nX-Request-ID: c\r\nConnection: close\r\n\r\n",
      milliseconds(10000));
  const std::vector<HttpResult> three_responses = ParseResponses(three.data);
  ASSERT_EQ(three_responses.size(), 3u) << three.data;
  EXPECT_EQ(three_responses[0].Header("x-request-id"), "a");
  EXPECT_EQ(three_responses[0].status, 405);
  EXPECT_EQ(three_responses[1].Header("x-request-id"), "b");
  EXPECT_EQ(three_responses[1].status, 200);
  EXPECT_EQ(three_responses[2].Header("x-request-id"), "c");
  EXPECT_EQ(three_responses[2].status, 404);
}

TEST_F(ApiTest, SlowAndIdleClientsAreCutOff) {
  ServerProcess& server =
      StartServer({"--set", "server.read_timeout_ms=500", "--set", "server.idle_timeout_ms=1000"});
  HttpClient client(server.port());
  const milliseconds window(5000);

  // Half the headers, then nothing: closed after the read timeout.
  const RawResult half_headers =
      client.SendRaw("POST /v1/parse HTTP/1.1\r\nHost: test\r\nContent-Ty", window);
  EXPECT_TRUE(half_headers.closed) << "still open after " << half_headers.elapsed.count() << " ms";
  EXPECT_GE(half_headers.elapsed.count(), 400);
  EXPECT_LT(half_headers.elapsed.count(), 2000);

  // The headers and half the body.
  const RawResult half_body = client.SendRaw(
      "POST /v1/parse HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"text\": \"where is",
      window);
  EXPECT_TRUE(half_body.closed) << "still open after " << half_body.elapsed.count() << " ms";
  EXPECT_GE(half_body.elapsed.count(), 400);
  EXPECT_LT(half_body.elapsed.count(), 2000);

  // A byte every 100 ms never completes the request: the read timeout is for
  // the whole request, not for each read.
  {
    RawConnection slow(server.port());
    const Clock::time_point start = Clock::now();
    ASSERT_TRUE(slow.Write("GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: "));
    bool closed = false;
    while (!closed && Clock::now() - start < window) {
      if (!slow.Write("a")) break;
      closed = slow.Read(milliseconds(100)).closed;
    }
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    EXPECT_LT(elapsed.count(), 2500) << "a trickling client was not cut off";
  }

  // A complete request is answered; the connection then idles and is closed
  // after the idle timeout, not before.
  const RawResult idle = client.SendRaw("GET /health HTTP/1.1\r\nHost: test\r\n\r\n", window);
  ASSERT_EQ(ParseResponses(idle.data).size(), 1u) << idle.data;
  EXPECT_EQ(ParseResponses(idle.data)[0].status, 200);
  EXPECT_TRUE(idle.closed) << "still open after " << idle.elapsed.count() << " ms";
  EXPECT_GE(idle.elapsed.count(), 800);
  EXPECT_LT(idle.elapsed.count(), 3000);

  // Connecting and sending nothing at all.
  const RawResult silent = client.SendRaw("", window);
  EXPECT_TRUE(silent.closed) << "still open after " << silent.elapsed.count() << " ms";
  EXPECT_LT(silent.elapsed.count(), 3000);

  // Other clients were served all along.
  EXPECT_EQ(client.Get("/health").status, 200);
}

// ---------------------------------------------------------------------------
// Dialogue

TEST_F(ApiTest, ClarificationIsResolvedByTheNextMessage) {
  // Any in-scope message is ambiguous with a margin of 1.
  ServerProcess& server = StartServer({"--set", "dialogue.ambiguity_margin=1.0"});
  HttpClient client(server.port());
  const json::value manifest = ParseFile(work_.path() / "model" / "svm" / "manifest.json");
  std::set<std::string> labels;
  for (const json::value& label : At(manifest, "labels").as_array()) labels.insert(Str(label));

  for (const auto& [answer, index] :
       std::vector<std::pair<std::string, size_t>>{{"the second one", 1}, {"the first one", 0}}) {
    SCOPED_TRACE(answer);
    const HttpResult ask = Chat(client, "", "where is my order");
    ASSERT_EQ(ask.status, 200) << ask.Describe();
    const json::value q = Body(ask);
    ASSERT_TRUE(Bool(At(q, "clarification"))) << ask.Describe();
    const json::value& choices = At(q, "choices");
    ASSERT_EQ(Size(choices), 2u) << ask.Describe();
    EXPECT_NE(Str(At(choices, 0)), Str(At(choices, 1)));
    EXPECT_TRUE(labels.count(Str(At(choices, 0)))) << ask.Describe();
    EXPECT_TRUE(labels.count(Str(At(choices, 1)))) << ask.Describe();
    EXPECT_FALSE(Str(At(q, "reply")).empty());
    const std::string id = Str(At(q, "session_id"));

    const HttpResult resolved = Chat(client, id, answer);
    ASSERT_EQ(resolved.status, 200) << resolved.Describe();
    const json::value a = Body(resolved);
    EXPECT_EQ(Str(At(a, "intent")), Str(At(choices, index))) << resolved.Describe();
    EXPECT_EQ(Int(At(a, "turn")), 2);
    EXPECT_FALSE(Str(At(a, "reply")).empty());
    if (const json::value* c = a.as_object().if_contains("clarification")) {
      EXPECT_FALSE(c->as_bool()) << resolved.Describe();
    }
    const json::value session = Body(client.Get("/v1/sessions/" + id));
    EXPECT_EQ(Str(At(At(At(session, "turns"), 1), "intent")), Str(At(choices, index)));
  }
}

TEST_F(ApiTest, ConcurrentChatsInOneSessionGetContiguousTurns) {
  ServerProcess& server = StartServer();
  HttpClient starter(server.port());
  const HttpResult first = Chat(starter, "", "hello");
  ASSERT_EQ(first.status, 200) << first.Describe();
  const std::string id = Str(At(Body(first), "session_id"));

  constexpr int kThreads = 8;
  constexpr int kMessages = 25;
  std::mutex mutex;
  std::vector<std::string> failures;
  std::map<int64_t, std::string> acknowledged;  // turn -> message, from the responses
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        HttpClient client(server.port());
        client.Get("/health");  // connected before the race starts
        go.arrive_and_wait();
        for (int i = 0; i < kMessages; ++i) {
          const std::string message =
              "where is order " + std::to_string(t) + "-" + std::to_string(i);
          const HttpResult r = Chat(client, id, message);
          std::lock_guard lock(mutex);
          if (r.status != 200) {
            failures.push_back(message + ": " + r.Describe());
            continue;
          }
          const json::value body = json::parse(r.body);
          const int64_t turn = body.at("turn").to_number<int64_t>();
          if (!acknowledged.emplace(turn, message).second) {
            failures.push_back("turn " + std::to_string(turn) + " given twice");
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(std::string("thread ") + std::to_string(t) + ": " + e.what());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_EQ(acknowledged.size(), static_cast<size_t>(kThreads * kMessages));

  const HttpResult got = starter.Get("/v1/sessions/" + id);
  ASSERT_EQ(got.status, 200) << got.Describe();
  const json::value session = Body(got);
  constexpr int64_t kTurns = kThreads * kMessages + 1;
  EXPECT_EQ(Int(At(session, "turn_count")), kTurns);
  const json::value& turns = At(session, "turns");
  ASSERT_EQ(Size(turns), static_cast<size_t>(kTurns));
  EXPECT_EQ(Str(At(At(turns, 0), "message")), "hello");
  std::vector<int> next_index(kThreads, 0);  // per thread: the next message expected
  for (int64_t n = 1; n <= kTurns; ++n) {
    const json::value& turn = At(turns, static_cast<size_t>(n - 1));
    ASSERT_EQ(Int(At(turn, "turn")), n) << "turns are not contiguous";
    if (n == 1) continue;
    const std::string message = Str(At(turn, "message"));
    EXPECT_EQ(acknowledged[n], message) << "turn " << n;
    int t = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(message.c_str(), "where is order %d-%d", &t, &i), 2) << message;
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(i, next_index[t]) << "thread " << t << "'s messages out of order at turn " << n;
    next_index[t] = i + 1;
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next_index[t], kMessages) << "thread " << t;
}

// ---------------------------------------------------------------------------
// Durability

TEST_F(ApiTest, SessionsSurviveARestart) {
  std::string id;
  const std::vector<std::string> messages = {"hi there", "where is my order", "thank you"};
  {
    ServerProcess& server = StartServer();
    HttpClient client(server.port());
    for (const std::string& message : messages) {
      const HttpResult r = Chat(client, id, message);
      ASSERT_EQ(r.status, 200) << r.Describe();
      id = Str(At(Body(r), "session_id"));
    }
    client.Close();
    EXPECT_EQ(server.Terminate(), 0) << server.Describe();
  }
  ServerProcess& again = StartServer();
  HttpClient client(again.port());
  const HttpResult got = client.Get("/v1/sessions/" + id);
  ASSERT_EQ(got.status, 200) << got.Describe();
  const json::value session = Body(got);
  const json::value& turns = At(session, "turns");
  ASSERT_EQ(Size(turns), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(Int(At(At(turns, i), "turn")), static_cast<int64_t>(i + 1));
    EXPECT_EQ(Str(At(At(turns, i), "message")), messages[i]);
  }
  // The conversation goes on where it stopped.
  const HttpResult next = Chat(client, id, "bye");
  ASSERT_EQ(next.status, 200) << next.Describe();
  EXPECT_EQ(Int(At(Body(next), "turn")), 4);
  EXPECT_EQ(again.Terminate(), 0) << again.Describe();
}

TEST_F(ApiTest, ReloadUnderLoadFailsNoRequestAndRefusesADamagedModel) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string version = ManifestVersion();

  std::atomic<bool> stop{false};
  std::atomic<int> parsed{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        HttpClient load(server.port());
        for (int i = 0; !stop; ++i) {
          const HttpResult r = load.Post(
              "/v1/parse", json::object{{"text", i % 2 ? "where is my order" : "hello there"}});
          if (r.status != 200) {
            std::lock_guard lock(mutex);
            failures.push_back(r.Describe());
          } else {
            ++parsed;
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(std::string("thread ") + std::to_string(t) + ": " + e.what());
      }
    });
  }
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < 10; ++i) {
    const HttpResult r = client.Send("POST", "/v1/model/reload", "", AdminHeaders());
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(Str(At(At(At(Body(r), "models"), "svm"), "version")), version);
    if (i == 3 || i == 7) server.Hup();
    std::this_thread::sleep_for(milliseconds(150));
  }
  std::this_thread::sleep_until(start + std::chrono::seconds(2));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GT(parsed.load(), 20);

  // A damaged model on disk is refused; the old one keeps serving.
  const fs::path model_bin = work_.path() / "model" / "svm" / "model.bin";
  FlipByte(model_bin, fs::file_size(model_bin) / 3);
  const HttpResult refused = client.Send("POST", "/v1/model/reload", "", AdminHeaders());
  ExpectError(refused, 422, "model_refused", "damaged model");
  EXPECT_THAT(Str(At(At(Body(refused), "error"), "message")), HasSubstr(version));
  server.Hup();  // the same through SIGHUP
  std::this_thread::sleep_for(milliseconds(300));
  const HttpResult parse = client.Post("/v1/parse", json::object{{"text", "where is my order"}});
  ASSERT_EQ(parse.status, 200) << parse.Describe();
  EXPECT_EQ(Str(At(Body(parse), "model_version")), version);
  EXPECT_EQ(Str(At(Body(parse), "intent")), "order_status");
  EXPECT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(
      Str(At(At(At(Body(client.Get("/v1/model", AdminHeaders())), "models"), "svm"), "version")),
      version);
  client.Close();
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();
  const std::string app_log = ReadFileToString(work_.path() / "logs" / "app.log");
  EXPECT_THAT(app_log, HasSubstr("SIGHUP"));
  EXPECT_THAT(app_log, HasSubstr("checksum"));
}

TEST_F(ApiTest, KillNineLosesNoAcknowledgedTurn) {
  auto& server = StartServer();
  struct Ack {
    int64_t turn;
    std::string message;
  };
  constexpr int kThreads = 4;
  std::vector<std::string> session_ids(kThreads);
  std::vector<std::vector<Ack>> acks(kThreads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(server.port());
      for (int i = 0; !stop; ++i) {
        const std::string message =
            "thread " + std::to_string(t) + " asks where order " + std::to_string(i) + " is";
        try {
          const HttpResult r = Chat(client, session_ids[t], message);
          if (r.status != 200) continue;
          const json::value body = json::parse(r.body);
          session_ids[t] = std::string(body.at("session_id").as_string());
          acks[t].push_back({body.at("turn").to_number<int64_t>(), message});
        } catch (const std::exception&) {
          break;  // the server is gone
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(1500));
  server.Kill();
  stop = true;
  for (std::thread& thread : threads) thread.join();

  ServerProcess& again = StartServer();
  HttpClient client(again.port());
  EXPECT_EQ(client.Get("/health").status, 200);
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_FALSE(acks[t].empty()) << "no chat was acknowledged in 1.5 s";
    const HttpResult got = client.Get("/v1/sessions/" + session_ids[t]);
    ASSERT_EQ(got.status, 200) << got.Describe();
    const json::value session = Body(got);
    const json::value& turns = At(session, "turns");
    EXPECT_GE(Int(At(session, "turn_count")), acks[t].back().turn);
    for (const Ack& ack : acks[t]) {
      ASSERT_GE(ack.turn, 1);
      ASSERT_LE(static_cast<size_t>(ack.turn), Size(turns)) << "turn " << ack.turn << " lost";
      const json::value& stored = At(turns, static_cast<size_t>(ack.turn - 1));
      EXPECT_EQ(Int(At(stored, "turn")), ack.turn);
      EXPECT_EQ(Str(At(stored, "message")), ack.message) << "turn " << ack.turn;
    }
    // And the session takes new turns after the crash.
    const HttpResult next = Chat(client, session_ids[t], "hello again");
    ASSERT_EQ(next.status, 200) << next.Describe();
    EXPECT_EQ(Int(At(Body(next), "turn")), Int(At(session, "turn_count")) + 1);
  }
}

// ---------------------------------------------------------------------------
// Access log and shutdown

TEST_F(ApiTest, AccessLogHasOneJsonLinePerRequestAndTextOnlyWhenAsked) {
  const std::string secret = "zebra secret 4711 where is my order";
  struct Sent {
    std::string id;
    std::string method;
    std::string path;
    int status;
    size_t bytes;
  };
  // Sends the requests; returns what the log must show for each.
  const auto exercise = [&](ServerProcess& server) {
    HttpClient client(server.port());
    std::vector<Sent> sent;
    const HttpResult parse =
        client.Post("/v1/parse", json::object{{"text", secret}}, {{"X-Request-ID", "log-parse"}});
    sent.push_back({"log-parse", "POST", "/v1/parse", parse.status, parse.body.size()});
    const HttpResult chat =
        client.Post("/v1/chat", json::object{{"message", secret}}, {{"X-Request-ID", "log-chat"}});
    sent.push_back({"log-chat", "POST", "/v1/chat", chat.status, chat.body.size()});
    const HttpResult missing = client.Get("/v1/nothing?key=hunter2", {{"X-Request-ID", "log-404"}});
    sent.push_back({"log-404", "GET", "/v1/nothing", missing.status, missing.body.size()});
    const HttpResult health = client.Get("/health");
    sent.push_back(
        {health.Header("x-request-id"), "GET", "/health", health.status, health.body.size()});
    client.Close();
    EXPECT_EQ(server.Terminate(), 0) << server.Describe();  // flushes the log
    return sent;
  };
  // The log's lines by request id, each checked for the common fields.
  const auto read_log = [](const fs::path& dir) {
    std::map<std::string, json::object> by_id;
    const std::string log = ReadFileToString(dir / "logs" / "api.log");
    for (const std::string& line : NonEmptyLines(log)) {
      SCOPED_TRACE(line);
      boost::system::error_code error;
      const json::value v = json::parse(line, error);
      if (error || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object";
        continue;
      }
      EXPECT_TRUE(std::regex_search(Str(At(v, "time")), std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:)")));
      EXPECT_FALSE(Str(At(v, "request_id")).empty());
      EXPECT_FALSE(Str(At(v, "method")).empty());
      EXPECT_THAT(Str(At(v, "path")), ::testing::StartsWith("/"));
      EXPECT_GE(Int(At(v, "status")), 100);
      EXPECT_GE(Int(At(v, "bytes")), 0);
      EXPECT_GE(Num(At(v, "latency_ms")), 0.0);
      EXPECT_THAT(Str(At(v, "client")), ::testing::StartsWith("127.0.0.1"));
      by_id[Str(At(v, "request_id"))] = v.as_object();
    }
    return std::pair{log, by_id};
  };

  ServerProcess& quiet = StartServer();
  const std::vector<Sent> sent = exercise(quiet);
  const auto [log, lines] = read_log(work_.path());
  for (const Sent& s : sent) {
    SCOPED_TRACE(s.id);
    ASSERT_TRUE(lines.count(s.id)) << log;
    const json::object& line = lines.at(s.id);
    EXPECT_EQ(Str(line.at("method")), s.method);
    EXPECT_EQ(Str(line.at("path")), s.path);
    EXPECT_EQ(Int(line.at("status")), s.status);
    EXPECT_EQ(Int(line.at("bytes")), static_cast<int64_t>(s.bytes));
    EXPECT_FALSE(line.contains("text"));
    EXPECT_FALSE(line.contains("message"));
  }
  EXPECT_EQ(Int(lines.at("log-parse").at("status")), 200);
  EXPECT_EQ(Int(lines.at("log-404").at("status")), 404);
  EXPECT_THAT(log, Not(HasSubstr("zebra")));
  EXPECT_THAT(log, Not(HasSubstr("hunter2")));  // the query string is not logged

  TempDir other("chatbot-api");
  ServerProcess& verbose = StartServer({"--set", "server.log_text=true"}, other.path());
  exercise(verbose);
  const auto [verbose_log, verbose_lines] = read_log(other.path());
  ASSERT_TRUE(verbose_lines.count("log-parse")) << verbose_log;
  ASSERT_TRUE(verbose_lines.count("log-chat")) << verbose_log;
  EXPECT_EQ(Str(verbose_lines.at("log-parse").at("text")), secret);
  EXPECT_EQ(Str(verbose_lines.at("log-chat").at("message")), secret);
  servers_.pop_back();  // before `other` goes
}

TEST_F(ApiTest, SigtermLetsInFlightRequestsFinish) {
  // Two I/O threads whatever the machine, so that of six connections some
  // have their whole request waiting while a thread is busy with another's.
  ServerProcess& server = StartServer({"--set", "server.threads=2"});
  // Heavy batches, so that they are still being answered when SIGTERM comes:
  // every request is written before the signal, so every one must be answered.
  json::array texts;
  for (int i = 0; i < 256; ++i) {
    std::string text = "hello, I ordered a pair of walking boots " + std::to_string(i) +
                       " weeks ago and where is my order, can you tell me when it arrives";
    while (text.size() < 200) text += " please";
    texts.push_back(json::string(text));
  }
  const std::string body = json::serialize(json::object{{"texts", texts}});
  ASSERT_LT(body.size(), 65536u);

  constexpr int kThreads = 6;
  std::latch connected(kThreads + 1);
  std::vector<HttpResult> results(kThreads);
  std::vector<Clock::time_point> finished(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        HttpClient client(server.port());
        client.Get("/health");
        connected.arrive_and_wait();
        results[t] = client.Send("POST", "/v1/parse/batch", body);
        finished[t] = Clock::now();
      } catch (const std::exception& e) {
        errors[t] = e.what();
        finished[t] = Clock::now();
      }
    });
  }
  connected.arrive_and_wait();
  std::this_thread::sleep_for(milliseconds(10));
  const Clock::time_point signalled = Clock::now();
  server.Signal(SIGTERM);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(server.Wait(), 0) << server.Describe();

  int after_signal = 0;
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    EXPECT_EQ(errors[t], "");
    EXPECT_EQ(results[t].status, 200) << results[t].Describe();
    if (results[t].status == 200) {
      EXPECT_EQ(Size(At(Body(results[t]), "results")), 256u);
    }
    if (finished[t] > signalled) ++after_signal;
  }
  // Otherwise the test proved nothing: the batches must have been in flight.
  EXPECT_GT(after_signal, 0) << "every batch was answered before SIGTERM; make them heavier";
}

}  // namespace
}  // namespace chatbot::testing
