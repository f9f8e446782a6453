// Integration tests of the HTTP API (docs/api.md): each starts the real
// `chatbot serve` (server_process.h) on a free port in a fresh temporary
// directory, with a copy of one model trained per test binary, and talks to
// it over real connections (http_client.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// JSON helpers that fail the test (rather than throw) on a missing key or a
// wrong type, so that one bad response does not hide the other checks.

const json::value& At(const json::value& v, std::string_view key) {
  static const json::value kNull;
  const json::object* object = v.if_object();
  if (object == nullptr) {
    ADD_FAILURE() << "not a JSON object (looking for '" << key << "'): " << json::serialize(v);
    return kNull;
  }
  const json::value* member = object->if_contains(key);
  if (member == nullptr) {
    ADD_FAILURE() << "no key '" << key << "' in " << json::serialize(v);
    return kNull;
  }
  return *member;
}

const json::value& At(const json::value& v, size_t index) {
  static const json::value kNull;
  const json::array* array = v.if_array();
  if (array == nullptr || index >= array->size()) {
    ADD_FAILURE() << "no element " << index << " in " << json::serialize(v);
    return kNull;
  }
  return (*array)[index];
}

std::string Str(const json::value& v) {
  if (const json::string* s = v.if_string()) return std::string(*s);
  return "<not a string: " + json::serialize(v) + ">";
}

double Num(const json::value& v) {
  if (!v.is_number()) {
    ADD_FAILURE() << "not a number: " << json::serialize(v);
    return std::nan("");
  }
  return v.to_number<double>();
}

int64_t Int(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.as_uint64());
  ADD_FAILURE() << "not an integer: " << json::serialize(v);
  return -1;
}

bool Bool(const json::value& v) {
  if (!v.is_bool()) ADD_FAILURE() << "not a boolean: " << json::serialize(v);
  return v.is_bool() && v.as_bool();
}

size_t Size(const json::value& v) {
  if (!v.is_array()) {
    ADD_FAILURE() << "not an array: " << json::serialize(v);
    return 0;
  }
  return v.as_array().size();
}

// The response body as JSON, or null (with a test failure) when it is not.
json::value Body(const HttpResult& r) {
  boost::system::error_code error;
  json::value v = json::parse(r.body, error);
  if (error) {
    ADD_FAILURE() << "the body is not JSON: " << r.Describe();
    return nullptr;
  }
  return v;
}

// What every response must have: a JSON content type (but for HEAD) and an
// X-Request-ID.
void ExpectCommonHeaders(const HttpResult& r) {
  EXPECT_FALSE(r.Header("x-request-id").empty()) << "no X-Request-ID: " << r.Describe();
  if (!r.body.empty()) {
    EXPECT_THAT(r.Header("content-type"), HasSubstr("application/json")) << r.Describe();
  }
}

// An error response: the status, {"error": {"code", "message"}} and the
// common headers.
void ExpectError(const HttpResult& r, int status, const std::string& code,
                 const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.status, status) << r.Describe();
  ExpectCommonHeaders(r);
  const json::value body = Body(r);
  EXPECT_EQ(Str(At(At(body, "error"), "code")), code) << r.Describe();
  EXPECT_FALSE(Str(At(At(body, "error"), "message")).empty()) << r.Describe();
}

// Flips every bit of the byte at `offset` of `path`.
void FlipByte(const fs::path& path, size_t offset) {
  std::string contents = ReadFileToString(path);
  ASSERT_LT(offset, contents.size());
  contents[offset] = static_cast<char>(~static_cast<unsigned char>(contents[offset]));
  WriteStringToFile(path, contents);
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

json::value ParseFile(const fs::path& path) {
  return json::parse(ReadFileToString(path));
}

// ---------------------------------------------------------------------------

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SharedTrainedModel(); }

  void SetUp() override {
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << "training the shared model failed: exit code "
                          << model.training.exit_code << "\n"
                          << model.training.out << "\n"
                          << model.training.err;
  }

  // Starts a server in `dir` (default: work_), installing the shared model
  // first unless the directory has one. Throws (failing the test with the
  // server's output) when it does not start.
  ServerProcess& StartServer(const std::vector<std::string>& extra_args = {},
                             const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    if (!fs::exists(where / "model" / "svm")) InstallSharedModel(where);
    auto server = std::make_unique<ServerProcess>(ServerOptions{where, extra_args, {}});
    server->Start();
    servers_.push_back(std::move(server));
    return *servers_.back();
  }

  // The model endpoints need an operator (docs/security.md): the admin key
  // the server in `dir` (default: work_) made at its first start.
  HttpHeaders AdminHeaders(const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    std::string key = ReadFileToString(where / "data" / "security" / "admin.key");
    while (!key.empty() && key.back() == '\n') key.pop_back();
    return {{"Authorization", "Bearer " + key}};
  }

  std::string ManifestVersion(const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    return Str(At(ParseFile(where / "model" / "svm" / "manifest.json"), "version"));
  }

  // POST /v1/chat; an empty session id starts a new session.
  static HttpResult Chat(HttpClient& client, const std::string& session_id,
                         const std::string& message, const HttpHeaders& headers = {}) {
    json::object body{{"message", message}};
    if (!session_id.empty()) body["session_id"] = session_id;
    return client.Post("/v1/chat", body, headers);
  }

  TempDir work_{"chatbot-api"};
  // Declared after work_: the servers end before their directories go.
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

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
