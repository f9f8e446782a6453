// Integration tests of the HTTP API (docs/api.md): health, parse, chat and
// sessions, the model endpoints and every client error. Each starts the
// real `chatbot serve` on a free port in a fresh temporary directory and
// talks to it over real connections (api_fixture.h, http_client.h).
#include "api_fixture.h"

namespace chatbot::testing {
namespace {

// ---------------------------------------------------------------------------
// Health

TEST_F(ApiTest, HealthReadyAndHead) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());

  const HttpResult health = client.Get("/health");
  ASSERT_EQ(health.status, 200) << health.Describe();
  ExpectCommonHeaders(health);
  const json::value h = Body(health);
  EXPECT_EQ(Str(At(h, "status")), "ok");
  EXPECT_EQ(Str(At(h, "version")), CHATBOT_PROJECT_VERSION);
  EXPECT_GE(Num(At(h, "uptime_s")), 0.0);
  EXPECT_EQ(Str(At(h, "storage")), "ok");
  const json::value& svm = At(At(h, "models"), "svm");
  EXPECT_EQ(Str(At(svm, "version")), ManifestVersion());
  EXPECT_EQ(Int(At(svm, "labels")), 37);
  EXPECT_FALSE(Str(At(svm, "loaded_at")).empty());

  const HttpResult ready = client.Get("/ready");
  ASSERT_EQ(ready.status, 200) << ready.Describe();
  ExpectCommonHeaders(ready);
  EXPECT_EQ(Str(At(Body(ready), "status")), "ok");

  // Uptime moves on.
  std::this_thread::sleep_for(milliseconds(50));
  const HttpResult later = client.Get("/health");
  EXPECT_GT(Num(At(Body(later), "uptime_s")), Num(At(h, "uptime_s")));

  // HEAD: the status and headers of GET, no body.
  for (const char* path : {"/health", "/ready"}) {
    SCOPED_TRACE(path);
    const HttpResult head = client.Send("HEAD", path);
    EXPECT_EQ(head.status, 200) << head.Describe();
    EXPECT_FALSE(head.Header("x-request-id").empty()) << head.Describe();
    // On the wire: nothing after the header block.
    const RawResult raw = client.SendRaw(
        std::string("HEAD ") + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        milliseconds(5000));
    EXPECT_TRUE(raw.closed) << raw.data;
    EXPECT_THAT(raw.data, ::testing::StartsWith("HTTP/1.1 200")) << raw.data;
    const size_t end = raw.data.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << raw.data;
    EXPECT_EQ(raw.data.substr(end + 4), "") << "HEAD response with a body";
  }
  // The same connection still works after HEAD.
  EXPECT_EQ(client.Get("/health").status, 200);

  ExpectError(client.Send("POST", "/health", "{}"), 405, "method_not_allowed", "POST /health");
}

// ---------------------------------------------------------------------------
// Parse

TEST_F(ApiTest, ParseClassifiesWithASortedRanking) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult r = client.Post("/v1/parse", json::object{{"text", "where is my order"}});
  ASSERT_EQ(r.status, 200) << r.Describe();
  ExpectCommonHeaders(r);
  const json::value p = Body(r);
  EXPECT_EQ(Str(At(p, "intent")), "order_status");
  EXPECT_FALSE(Bool(At(p, "out_of_scope")));
  const double confidence = Num(At(p, "confidence"));
  EXPECT_GT(confidence, 0.0);
  EXPECT_LE(confidence, 1.0);
  EXPECT_EQ(Str(At(p, "model")), "svm");
  EXPECT_EQ(Str(At(p, "model_version")), ManifestVersion());

  const json::value& ranking = At(p, "ranking");
  ASSERT_GE(Size(ranking), 1u);
  EXPECT_LE(Size(ranking), 5u);  // [nlu] top_k
  double previous = 2;
  std::set<std::string> seen;
  for (const json::value& entry : ranking.as_array()) {
    const double c = Num(At(entry, "confidence"));
    EXPECT_LE(c, previous) << "ranking not sorted: " << json::serialize(ranking);
    EXPECT_GE(c, 0.0);
    previous = c;
    EXPECT_TRUE(seen.insert(Str(At(entry, "intent"))).second) << json::serialize(ranking);
  }
  EXPECT_EQ(Str(At(At(ranking, 0), "intent")), "order_status");
  EXPECT_DOUBLE_EQ(Num(At(At(ranking, 0), "confidence")), confidence);

  // A greeting and an out-of-scope question, for contrast.
  EXPECT_EQ(
      Str(At(Body(client.Post("/v1/parse", json::object{{"text", "hello there"}})), "intent")),
      "greeting");
  const json::value weather =
      Body(client.Post("/v1/parse", json::object{{"text", "what's the weather in Paris"}}));
  EXPECT_EQ(Str(At(weather, "intent")), "oos");
  EXPECT_TRUE(Bool(At(weather, "out_of_scope")));

  // Content types with parameters are JSON too.
  const HttpResult charset = client.Send("POST", "/v1/parse", R"({"text": "hi"})",
                                         {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(charset.status, 200) << charset.Describe();
}

TEST_F(ApiTest, ParseBatchKeepsTheOrderAndEnforcesItsLimits) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::vector<std::string> texts = {"hello there", "where is my order",
                                          "what's the weather in Paris",
                                          "I want to return these shoes", "thanks, bye"};
  const HttpResult r = client.Post(
      "/v1/parse/batch", json::object{{"texts", json::array(texts.begin(), texts.end())}});
  ASSERT_EQ(r.status, 200) << r.Describe();
  ExpectCommonHeaders(r);
  const json::value batch = Body(r);
  const json::value& results = At(batch, "results");
  ASSERT_EQ(Size(results), texts.size()) << r.Describe();
  for (size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(texts[i]);
    // Each result is the one /v1/parse gives for the same text.
    const json::value single = Body(client.Post("/v1/parse", json::object{{"text", texts[i]}}));
    EXPECT_EQ(At(At(results, i), "intent"), At(single, "intent"));
    EXPECT_EQ(At(At(results, i), "out_of_scope"), At(single, "out_of_scope"));
    EXPECT_DOUBLE_EQ(Num(At(At(results, i), "confidence")), Num(At(single, "confidence")));
  }
  EXPECT_EQ(Str(At(At(results, 0), "intent")), "greeting");
  EXPECT_EQ(Str(At(At(results, 1), "intent")), "order_status");

  // [server] max_batch is 256.
  json::array full;
  for (int i = 0; i < 256; ++i)
    full.push_back(json::string("where is my order " + std::to_string(i)));
  const HttpResult at_limit = client.Post("/v1/parse/batch", json::object{{"texts", full}});
  ASSERT_EQ(at_limit.status, 200) << at_limit.Describe();
  EXPECT_EQ(Size(At(Body(at_limit), "results")), 256u);
  full.push_back(json::string("one too many"));
  ExpectError(client.Post("/v1/parse/batch", json::object{{"texts", full}}), 422, "too_many_texts",
              "257 texts");

  ExpectError(client.Post("/v1/parse/batch", json::object{{"texts", json::array{}}}), 422,
              "texts_empty", "no texts");
  ExpectError(client.Post("/v1/parse/batch", json::object{{"text", "hi"}}), 400, "wrong_type",
              "no 'texts'");
  ExpectError(client.Post("/v1/parse/batch", json::object{{"texts", "hi"}}), 400, "wrong_type",
              "'texts' is a string");

  // A bad entry is named.
  const HttpResult number =
      client.Post("/v1/parse/batch", json::object{{"texts", json::array{"hi", 5, "bye"}}});
  EXPECT_TRUE(number.status == 400 || number.status == 422) << number.Describe();
  EXPECT_THAT(Str(At(At(Body(number), "error"), "message")), HasSubstr("texts[1]"));
  const HttpResult blank =
      client.Post("/v1/parse/batch", json::object{{"texts", json::array{"hi", "bye", "  "}}});
  ExpectError(blank, 422, "text_empty", "blank entry");
  EXPECT_THAT(Str(At(At(Body(blank), "error"), "message")), HasSubstr("texts[2]"));
}

// ---------------------------------------------------------------------------
// Chat and sessions

TEST_F(ApiTest, ChatStartsAndContinuesSessions) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult first = Chat(client, "", "hi there");
  ASSERT_EQ(first.status, 200) << first.Describe();
  ExpectCommonHeaders(first);
  const json::value c1 = Body(first);
  const std::string id = Str(At(c1, "session_id"));
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << id;
  EXPECT_EQ(Int(At(c1, "turn")), 1);
  EXPECT_EQ(Str(At(c1, "intent")), "greeting");
  EXPECT_FALSE(Bool(At(c1, "out_of_scope")));
  EXPECT_GT(Num(At(c1, "confidence")), 0.0);
  EXPECT_THAT(Str(At(c1, "reply")), Not(::testing::IsEmpty()));
  EXPECT_THAT(Str(At(c1, "reply")), Not(HasSubstr("{bot_name}")));

  for (int turn = 2; turn <= 4; ++turn) {
    const HttpResult next = Chat(client, id, "where is my order");
    ASSERT_EQ(next.status, 200) << next.Describe();
    const json::value c = Body(next);
    EXPECT_EQ(Str(At(c, "session_id")), id);
    EXPECT_EQ(Int(At(c, "turn")), turn);
    EXPECT_FALSE(Str(At(c, "reply")).empty());
  }

  // A second session is another id, from turn 1.
  const json::value other = Body(Chat(client, "", "hello"));
  EXPECT_NE(Str(At(other, "session_id")), id);
  EXPECT_EQ(Int(At(other, "turn")), 1);

  ExpectError(Chat(client, "0000000000000000000000000000dead", "hello"), 404, "session_not_found",
              "unknown session");
  ExpectError(client.Post("/v1/chat", json::object{{"session_id", 5}, {"message", "hi"}}), 400,
              "wrong_type", "numeric session id");
  ExpectError(client.Post("/v1/chat", json::object{{"session_id", id}}), 400, "missing_field",
              "no message");
  ExpectError(client.Post("/v1/chat", json::object{{"message", 5}}), 400, "wrong_type",
              "numeric message");
  ExpectError(Chat(client, id, " \t "), 422, "text_empty", "blank message");
  // The rejected messages were not turns.
  EXPECT_EQ(Int(At(Body(client.Get("/v1/sessions/" + id)), "turn_count")), 4);
}

TEST_F(ApiTest, SessionsArePagedNewestFirst) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 3; ++i) {
    const HttpResult r = Chat(client, "", "hello number " + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.Describe();
    ids.push_back(Str(At(Body(r), "session_id")));
    std::this_thread::sleep_for(milliseconds(5));  // distinct creation times
  }
  ASSERT_EQ(Chat(client, ids[1], "where is my order").status, 200);

  const HttpResult page1 = client.Get("/v1/sessions?limit=2");
  ASSERT_EQ(page1.status, 200) << page1.Describe();
  ExpectCommonHeaders(page1);
  const json::value p1 = Body(page1);
  const json::value& s1 = At(p1, "sessions");
  ASSERT_EQ(Size(s1), 2u) << page1.Describe();
  EXPECT_EQ(Str(At(At(s1, 0), "session_id")), ids[2]);
  EXPECT_EQ(Str(At(At(s1, 1), "session_id")), ids[1]);
  EXPECT_EQ(Int(At(At(s1, 1), "turns")), 2);
  EXPECT_EQ(Int(At(At(s1, 0), "turns")), 1);
  for (const json::value& s : s1.as_array()) {
    EXPECT_GE(Int(At(s, "updated_at_ms")), Int(At(s, "created_at_ms")));
  }
  EXPECT_GT(Int(At(At(s1, 0), "created_at_ms")), Int(At(At(s1, 1), "created_at_ms")));
  const json::value& next = At(p1, "next_before");
  ASSERT_FALSE(next.is_null()) << page1.Describe();
  EXPECT_EQ(Int(next), Int(At(At(s1, 1), "created_at_ms")));

  const HttpResult page2 = client.Get("/v1/sessions?limit=2&before=" + std::to_string(Int(next)));
  ASSERT_EQ(page2.status, 200) << page2.Describe();
  const json::value p2 = Body(page2);
  ASSERT_EQ(Size(At(p2, "sessions")), 1u) << page2.Describe();
  EXPECT_EQ(Str(At(At(At(p2, "sessions"), 0), "session_id")), ids[0]);
  EXPECT_TRUE(At(p2, "next_before").is_null()) << page2.Describe();

  const json::value all = Body(client.Get("/v1/sessions"));
  EXPECT_EQ(Size(At(all, "sessions")), 3u);
  EXPECT_TRUE(At(all, "next_before").is_null());

  for (const char* query : {"limit=0", "limit=1001", "limit=abc", "limit=", "before=yesterday"}) {
    ExpectError(client.Get(std::string("/v1/sessions?") + query), 400, "bad_parameter", query);
  }
  ExpectError(client.Send("POST", "/v1/sessions", "{}"), 405, "method_not_allowed",
              "POST /v1/sessions");
}

TEST_F(ApiTest, PagingVisitsEverySessionOnceEvenWithinOneMillisecond) {
  ServerProcess& server = StartServer();
  // Sessions started at once by several clients share creation milliseconds;
  // paging must still list each exactly once.
  constexpr int kThreads = 8;
  constexpr int kPerThread = 12;
  std::mutex mutex;
  std::set<std::string> created;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      HttpClient client(server.port());
      for (int i = 0; i < kPerThread; ++i) {
        const HttpResult r = Chat(client, "", "hello");
        if (r.status != 200) continue;
        std::lock_guard lock(mutex);
        created.insert(std::string(json::parse(r.body).at("session_id").as_string()));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(created.size(), static_cast<size_t>(kThreads * kPerThread));

  HttpClient client(server.port());
  std::set<std::string> listed;
  std::string target = "/v1/sessions?limit=5";
  for (int page = 0; page <= kThreads * kPerThread; ++page) {
    const HttpResult r = client.Get(target);
    ASSERT_EQ(r.status, 200) << r.Describe();
    const json::value body = Body(r);
    for (const json::value& s : At(body, "sessions").as_array()) {
      EXPECT_TRUE(listed.insert(Str(At(s, "session_id"))).second)
          << "listed twice: " << json::serialize(s);
    }
    const json::value& next = At(body, "next_before");
    if (next.is_null()) break;
    target = "/v1/sessions?limit=5&before=" + std::to_string(Int(next));
  }
  std::vector<std::string> missing;
  std::set_difference(created.begin(), created.end(), listed.begin(), listed.end(),
                      std::back_inserter(missing));
  EXPECT_THAT(missing, ::testing::IsEmpty())
      << missing.size() << " of " << created.size() << " sessions never listed";
}

TEST_F(ApiTest, SessionHasItsTurnsInOrderAndCanBeDeleted) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::vector<std::string> messages = {"hi there", "where is my order", "thank you"};
  std::string id;
  std::vector<json::value> replies;
  for (const std::string& message : messages) {
    const HttpResult r = Chat(client, id, message);
    ASSERT_EQ(r.status, 200) << r.Describe();
    replies.push_back(Body(r));
    id = Str(At(replies.back(), "session_id"));
  }

  const HttpResult got = client.Get("/v1/sessions/" + id);
  ASSERT_EQ(got.status, 200) << got.Describe();
  ExpectCommonHeaders(got);
  const json::value s = Body(got);
  EXPECT_EQ(Str(At(s, "session_id")), id);
  EXPECT_EQ(Int(At(s, "turn_count")), 3);
  EXPECT_LE(Int(At(s, "created_at_ms")), Int(At(s, "updated_at_ms")));
  const json::value& turns = At(s, "turns");
  ASSERT_EQ(Size(turns), 3u) << got.Describe();
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE("turn " + std::to_string(i + 1));
    const json::value& t = At(turns, i);
    EXPECT_EQ(Int(At(t, "turn")), static_cast<int64_t>(i + 1));
    EXPECT_EQ(Str(At(t, "message")), messages[i]);
    EXPECT_EQ(At(t, "reply"), At(replies[i], "reply"));
    EXPECT_EQ(At(t, "intent"), At(replies[i], "intent"));
    EXPECT_EQ(At(t, "out_of_scope"), At(replies[i], "out_of_scope"));
    EXPECT_EQ(Str(At(t, "model")), "svm");
    EXPECT_EQ(Str(At(t, "model_version")), ManifestVersion());
    EXPECT_LE(Int(At(t, "received_at_ms")), Int(At(t, "replied_at_ms")));
  }

  const HttpResult deleted = client.Send("DELETE", "/v1/sessions/" + id);
  EXPECT_EQ(deleted.status, 200) << deleted.Describe();
  ExpectCommonHeaders(deleted);
  ExpectError(client.Get("/v1/sessions/" + id), 404, "session_not_found", "GET after DELETE");
  ExpectError(client.Send("DELETE", "/v1/sessions/" + id), 404, "session_not_found",
              "DELETE twice");
  ExpectError(Chat(client, id, "hello again"), 404, "session_not_found", "chat after DELETE");
  EXPECT_EQ(Size(At(Body(client.Get("/v1/sessions")), "sessions")), 0u);

  const HttpResult put = client.Send("PUT", "/v1/sessions/" + id, "{}");
  ExpectError(put, 405, "method_not_allowed", "PUT a session");
  EXPECT_THAT(put.Header("allow"), HasSubstr("GET"));
  EXPECT_THAT(put.Header("allow"), HasSubstr("DELETE"));
}

// ---------------------------------------------------------------------------
// Model

TEST_F(ApiTest, ModelDescribesItselfAndReloads) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult r = client.Get("/v1/model", AdminHeaders());
  ASSERT_EQ(r.status, 200) << r.Describe();
  ExpectCommonHeaders(r);
  const json::value svm = At(At(Body(r), "models"), "svm");
  const json::value manifest = ParseFile(work_.path() / "model" / "svm" / "manifest.json");
  EXPECT_EQ(Str(At(svm, "kind")), "svm");
  EXPECT_EQ(Str(At(svm, "version")), Str(At(manifest, "version")));
  EXPECT_EQ(At(svm, "labels"), At(manifest, "labels"));
  EXPECT_EQ(Size(At(svm, "labels")), 37u);
  std::set<std::string> labels;
  for (const json::value& label : At(svm, "labels").as_array()) labels.insert(Str(label));
  EXPECT_TRUE(labels.count("order_status"));
  EXPECT_TRUE(labels.count("greeting"));
  EXPECT_GT(Int(At(svm, "features")), 1000);
  EXPECT_GT(Num(At(svm, "temperature")), 0.0);
  const double accuracy = Num(At(At(svm, "heldout_metrics"), "accuracy"));
  EXPECT_GT(accuracy, 0.5);
  EXPECT_LE(accuracy, 1.0);
  EXPECT_TRUE(At(svm, "hyperparameters").is_object());

  const HttpResult reload = client.Send("POST", "/v1/model/reload", "", AdminHeaders());
  ASSERT_EQ(reload.status, 200) << reload.Describe();
  ExpectCommonHeaders(reload);
  const json::value rl = Body(reload);
  EXPECT_EQ(Str(At(rl, "status")), "reloaded");
  EXPECT_EQ(Str(At(At(At(rl, "models"), "svm"), "version")), Str(At(manifest, "version")));
  EXPECT_FALSE(Str(At(At(At(rl, "models"), "svm"), "loaded_at")).empty());
  EXPECT_EQ(client.Post("/v1/parse", json::object{{"text", "hi"}}).status, 200);

  const HttpResult get_reload = client.Get("/v1/model/reload", AdminHeaders());
  ExpectError(get_reload, 405, "method_not_allowed", "GET /v1/model/reload");
  EXPECT_THAT(get_reload.Header("allow"), HasSubstr("POST"));
}

// ---------------------------------------------------------------------------
// Errors

TEST_F(ApiTest, EveryClientErrorHasItsStatusAndCode) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const auto post_parse = [&](std::string_view body, const HttpHeaders& headers = {}) {
    return client.Send("POST", "/v1/parse", body, headers);
  };
  ExpectError(post_parse(R"({"text": )"), 400, "malformed_json", "truncated JSON");
  ExpectError(post_parse("{'text': 'hi'}"), 400, "malformed_json", "single quotes");
  ExpectError(post_parse(R"(["hi"])"), 400, "malformed_json", "an array");
  ExpectError(post_parse(R"("hi")"), 400, "malformed_json", "a string");
  ExpectError(client.Send("POST", "/v1/parse", "", {{"Content-Type", "application/json"}}), 400,
              "malformed_json", "no body");
  ExpectError(post_parse(R"({"text": 5})"), 400, "wrong_type", "text: 5");
  ExpectError(post_parse(R"({"text": null})"), 400, "wrong_type", "text: null");
  ExpectError(post_parse(R"({"text": ["hi"]})"), 400, "wrong_type", "text: array");
  ExpectError(post_parse(R"({"txt": "hi"})"), 400, "missing_field", "no text");
  ExpectError(post_parse(R"({"text": ""})"), 422, "text_empty", "empty text");
  ExpectError(post_parse(R"({"text": " \t\n "})"), 422, "text_empty", "blank text");

  ExpectError(client.Get("/v1/nothing"), 404, "not_found", "unknown path");
  // "/" is the chat page (docs/web.md); a path beside the pages is not.
  ExpectError(client.Get("/index.htm"), 404, "not_found", "no page");
  ExpectError(client.Send("POST", "/v1/parse/", R"({"text": "hi"})"), 404, "not_found",
              "trailing slash");

  const HttpResult get_parse = client.Get("/v1/parse");
  ExpectError(get_parse, 405, "method_not_allowed", "GET /v1/parse");
  EXPECT_EQ(get_parse.Header("allow"), "POST") << get_parse.Describe();
  const HttpResult put_chat = client.Send("PUT", "/v1/chat", "{}");
  ExpectError(put_chat, 405, "method_not_allowed", "PUT /v1/chat");
  EXPECT_EQ(put_chat.Header("allow"), "POST") << put_chat.Describe();
  const HttpResult delete_model = client.Send("DELETE", "/v1/model", "", AdminHeaders());
  ExpectError(delete_model, 405, "method_not_allowed", "DELETE /v1/model");
  EXPECT_EQ(delete_model.Header("allow"), "GET") << delete_model.Describe();

  const HttpResult plain = post_parse(R"({"text": "hi"})", {{"Content-Type", "text/plain"}});
  ExpectError(plain, 415, "unsupported_media_type", "text/plain");
  ExpectError(client.Send("POST", "/v1/chat", R"({"message": "hi"})",
                          {{"Content-Type", "application/x-www-form-urlencoded"}}),
              415, "unsupported_media_type", "form body");

  // The body limit is 64 KiB: exactly that much is read (and the text is
  // then too long); one byte more is refused unread. Each on a connection of
  // its own, since the server may close one after a 413.
  const auto body_of_size = [](size_t size) {
    const std::string prefix = R"({"text": ")";
    const std::string suffix = R"("})";
    return prefix + std::string(size - prefix.size() - suffix.size(), 'a') + suffix;
  };
  {
    HttpClient fresh(server.port());
    ExpectError(fresh.Send("POST", "/v1/parse", body_of_size(65536)), 422, "text_too_long",
                "body of 64 KiB");
  }
  {
    HttpClient fresh(server.port());
    ExpectError(fresh.Send("POST", "/v1/parse", body_of_size(65537)), 413, "payload_too_large",
                "body of 64 KiB + 1");
  }
  {
    HttpClient fresh(server.port());
    ExpectError(fresh.Send("POST", "/v1/parse", body_of_size(200000)), 413, "payload_too_large",
                "body of 200 kB");
  }
  {
    HttpClient fresh(server.port());
    ExpectError(fresh.Get("/health", {{"X-Padding", std::string(20000, 'p')}}), 431,
                "header_too_large", "20 kB header");
  }
  // Malformed HTTP gets a 400 and the connection is closed.
  const RawResult garbage = client.SendRaw("THIS IS NOT HTTP AT ALL\r\n\r\n", milliseconds(5000));
  EXPECT_TRUE(garbage.closed) << garbage.data;
  const std::vector<HttpResult> garbage_responses = ParseResponses(garbage.data);
  ASSERT_EQ(garbage_responses.size(), 1u) << garbage.data;
  ExpectError(garbage_responses[0], 400, "bad_request", "not HTTP");

  // The server is still fine.
  HttpClient after(server.port());
  EXPECT_EQ(after.Post("/v1/parse", json::object{{"text", "hi"}}).status, 200);
}

TEST_F(ApiTest, TextLengthAndTopKFollowTheConfiguration) {
  ServerProcess& server = StartServer({"--set", "nlu.max_text_length=50", "--set", "nlu.top_k=3"});
  HttpClient client(server.port());
  const std::string fifty = "where is my order " + std::string(32, 'x');
  ASSERT_EQ(fifty.size(), 50u);
  const HttpResult ok = client.Post("/v1/parse", json::object{{"text", fifty}});
  ASSERT_EQ(ok.status, 200) << ok.Describe();
  EXPECT_EQ(Size(At(Body(ok), "ranking")), 3u);

  const HttpResult too_long = client.Post("/v1/parse", json::object{{"text", fifty + "y"}});
  ExpectError(too_long, 422, "text_too_long", "51 bytes");
  EXPECT_THAT(Str(At(At(Body(too_long), "error"), "message")), HasSubstr("50"));
  ExpectError(client.Post("/v1/chat", json::object{{"message", fifty + "y"}}), 422, "text_too_long",
              "chat, 51 bytes");
  const HttpResult batch =
      client.Post("/v1/parse/batch", json::object{{"texts", json::array{"hi", fifty + "y"}}});
  ExpectError(batch, 422, "text_too_long", "batch, 51 bytes");
  EXPECT_THAT(Str(At(At(Body(batch), "error"), "message")), HasSubstr("texts[1]"));
  // Bytes, not characters: 26 two-byte characters are 52 bytes.
  std::string accents;
  for (int i = 0; i < 26; ++i) accents += "\xc3\xa9";
  ExpectError(client.Post("/v1/parse", json::object{{"text", accents}}), 422, "text_too_long",
              "52 bytes of UTF-8");
}

TEST_F(ApiTest, RequestIdIsEchoedOrGenerated) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult ok = client.Get("/health", {{"X-Request-ID", "test-request-1"}});
  EXPECT_EQ(ok.Header("x-request-id"), "test-request-1");
  const HttpResult missing = client.Get("/v2/nothing", {{"X-Request-ID", "test-request-2"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("x-request-id"), "test-request-2");
  const HttpResult bad = client.Send("POST", "/v1/parse", "{", {{"X-Request-ID", "test-3"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Header("x-request-id"), "test-3");

  // Generated ones are there and differ.
  const std::string a = client.Get("/health").Header("x-request-id");
  const std::string b = client.Get("/health").Header("x-request-id");
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
  EXPECT_NE(a, b);

  // 128 characters are kept; 129 are replaced.
  const std::string longest(128, 'r');
  EXPECT_EQ(client.Get("/health", {{"X-Request-ID", longest}}).Header("x-request-id"), longest);
  const std::string too_long(129, 'r');
  const HttpResult replaced = client.Get("/health", {{"X-Request-ID", too_long}});
  EXPECT_EQ(replaced.status, 200);
  EXPECT_NE(replaced.Header("x-request-id"), too_long);
  EXPECT_FALSE(replaced.Header("x-request-id").empty());
}

TEST_F(ApiTest, DamagedModelGives503UntilItIsRepaired) {
  InstallSharedModel(work_.path());
  const fs::path model_bin = work_.path() / "model" / "svm" / "model.bin";
  FlipByte(model_bin, fs::file_size(model_bin) / 2);
  ServerProcess& server = StartServer();
  HttpClient client(server.port());

  const HttpResult health = client.Get("/health");
  EXPECT_EQ(health.status, 503) << health.Describe();
  ExpectCommonHeaders(health);
  const json::value h = Body(health);
  EXPECT_NE(Str(At(h, "status")), "ok");
  // Public: the state; the operator's model endpoint and the log say why.
  EXPECT_EQ(Str(At(h, "reason")), "no model is loaded");
  EXPECT_EQ(Str(At(h, "model")), "damaged");
  EXPECT_EQ(client.Get("/ready").status, 503);
  EXPECT_EQ(client.Send("HEAD", "/health").status, 503);

  ExpectError(client.Post("/v1/parse", json::object{{"text", "hi"}}), 503, "no_model", "parse");
  ExpectError(client.Post("/v1/parse/batch", json::object{{"texts", json::array{"hi"}}}), 503,
              "no_model", "batch");
  ExpectError(client.Post("/v1/chat", json::object{{"message", "hi"}}), 503, "no_model", "chat");
  const HttpResult model = client.Get("/v1/model", AdminHeaders());
  ExpectError(model, 503, "no_model", "model");
  EXPECT_THAT(Str(At(At(Body(model), "error"), "message")), HasSubstr("checksum"));
  EXPECT_FALSE(model.Header("retry-after").empty());
  ExpectError(client.Send("POST", "/v1/model/reload", "", AdminHeaders()), 422, "model_refused",
              "reload, damaged");
  // A refused chat did not create a session.
  EXPECT_EQ(Size(At(Body(client.Get("/v1/sessions")), "sessions")), 0u);

  // Repaired on disk, SIGHUP loads it.
  InstallSharedModel(work_.path());
  server.Hup();
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (Clock::now() < deadline) {
    status = client.Get("/health").status;
    if (status == 200) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status, 200) << "SIGHUP did not load the repaired model";
  const HttpResult parse = client.Post("/v1/parse", json::object{{"text", "where is my order"}});
  EXPECT_EQ(parse.status, 200) << parse.Describe();
  EXPECT_EQ(Str(At(Body(parse), "intent")), "order_status");
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();
}

}  // namespace
}  // namespace chatbot::testing
