// The OWASP API Security Top 10 (2023), walked against the real `chatbot
// serve`. What other suites already prove is referenced, not repeated:
//   API1 object-level authorisation: security_test.cc
//        ClientsSeeOnlyTheSessionsTheyCreated (read, list); here: chat into,
//        delete and search another key's session.
//   API2 broken authentication: security_test.cc (revoked, expired, rotation
//        grace, failed attempts throttled); here: malformed keys, a
//        rotated-out secret, and the key check's timing.
//   API3 excessive data exposure / mass assignment: here, every answer of
//        the walk is scanned for secrets, hashes and paths (and the fixture
//        scans the logs); unknown fields in admin bodies are refused.
//   API4 resource limits: the flood tests (issue 20, point 4) and
//        hardening_test.cc (slow searches).
//   API5 function-level authorisation: security_roles_test.cc checks the
//        table of docs/security.md; here every admin and operator endpoint
//        and method with every weaker role.
//   API8 injection: SQL metacharacters and path traversal in every string
//        field and path.
//   API9 asset management: no debug or undocumented endpoint: every route
//        in the server's source is in docs/api.md or docs/web.md, and
//        common debug paths are 404.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

class OwaspTest : public SecurityTest {
 protected:
  // Sends and checks what no answer may hold: a secret (any key seen), a
  // key hash, the test's directory or a file's contents; never a 500.
  HttpResult Send(HttpClient& client, std::string_view method, std::string_view target,
                  std::string_view body, const HttpHeaders& headers) {
    const HttpResult r = client.Send(method, target, body, headers);
    const std::string where = std::string(method) + " " + std::string(target);
    EXPECT_LT(r.status, 500) << where << " " << r.Describe();
    EXPECT_EQ(r.body.find(work_.path().string()), std::string::npos) << where << ": a path";
    // As a field (a request may quote the name, and an error repeat it).
    EXPECT_EQ(r.body.find("\"secret_hash\":"), std::string::npos) << where;
    EXPECT_EQ(r.body.find("root:x:0:0"), std::string::npos) << where << ": /etc/passwd";
    static const std::regex kHash("[0-9a-f]{64}");
    EXPECT_FALSE(std::regex_search(r.body, kHash)) << where << ": a hash " << r.body;
    for (const std::string& key : secrets_) {
      const std::string secret = key.size() > 21 ? key.substr(21) : key;
      // Only the answer that issues a key shows it.
      if (!(method == "POST" && (target == "/v1/admin/keys" || target.ends_with("/rotate")))) {
        EXPECT_EQ(r.body.find(secret), std::string::npos) << where << ": a secret";
      }
    }
    return r;
  }
};

TEST_F(OwaspTest, Api1AClientCannotChatIntoDeleteOrSearchAnotherKeysSession) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string alice = CreateKey(client, admin, "alice", "client");
  const std::string bob = CreateKey(client, admin, "bob", "client");
  HttpResult r =
      Send(client, "POST", "/v1/chat", R"({"message":"where is my order"})", Bearer(alice));
  ASSERT_EQ(r.status, 200) << r.Describe();
  const std::string session(r.Json().at("session_id").as_string());
  r = Send(client, "POST", "/v1/chat",
           json::serialize(json::object{{"message", "hi"}, {"session_id", session}}), Bearer(bob));
  EXPECT_EQ(r.status, 404) << r.Describe();
  EXPECT_EQ(Code(r), "session_not_found");
  EXPECT_EQ(Send(client, "DELETE", "/v1/sessions/" + session, "", Bearer(bob)).status, 404);
  r = Send(client, "GET", "/v1/sessions?q=order", "", Bearer(bob));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body.find(session), std::string::npos);
  // Still Alice's, untouched.
  r = Send(client, "GET", "/v1/sessions/" + session, "", Bearer(alice));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("turns").as_array().size(), 1u);
}

TEST_F(OwaspTest, Api2MalformedAndRotatedOutKeysAre401NeverAnError) {
  // Not throttled: every attempt here must reach the key check.
  ServerProcess& server = StartServer({"--set", "security.auth_failures_per_minute=1000000"});
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string key = CreateKey(client, admin, "shop", "client");
  const std::string id = IdOf(key);
  for (const std::string& value :
       {std::string("Bearer "), std::string("Bearer cbk_"), "Bearer cbk_" + id,
        "Bearer cbk_" + id + "_", "Bearer " + key.substr(0, key.size() - 1), "Bearer " + key + "x",
        "Bearer cbk_ZZZZZZZZZZZZZZZZ_" + key.substr(21), "Bearer " + std::string(4000, 'a'),
        "Bearer cbk_" + id + "_\xc3\xa9\xc3\xa9", "Bearer cbk_" + id + "_' OR '1'='1",
        "Basic " + key, "Bearer\t" + key}) {
    const HttpResult r =
        Send(client, "POST", "/v1/parse", R"({"text":"hello"})", {{"Authorization", value}});
    EXPECT_TRUE(r.status == 401 || r.status == 400 || r.status == 429)
        << value.substr(0, 40) << ": " << r.Describe();
  }
  // Rotated without a grace period: the old secret is refused at once.
  HttpResult r =
      Send(client, "POST", "/v1/admin/keys/" + id + "/rotate", R"({"grace":"0s"})", Bearer(admin));
  ASSERT_EQ(r.status, 200) << r.Describe();
  const std::string rotated(r.Json().at("key").as_string());
  Remember(rotated);
  EXPECT_EQ(Send(client, "POST", "/v1/parse", R"({"text":"hello"})", Bearer(key)).status, 401);
  EXPECT_EQ(Send(client, "POST", "/v1/parse", R"({"text":"hello"})", Bearer(rotated)).status, 200);
}

// A wrong secret costs the same whether it shares nothing or all but its
// last character with the right one: the medians of many interleaved
// samples differ by less than what any byte-by-byte comparison of a
// network-visible size would show.
TEST_F(OwaspTest, Api2KeyCheckTimingDoesNotDependOnHowMuchOfTheSecretMatches) {
  ServerProcess& server = StartServer({"--set", "security.auth_failures_per_minute=1000000"});
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string key = CreateKey(client, admin, "timed", "client");
  std::string near = key;
  near.back() = near.back() == 'A' ? 'B' : 'A';  // all but the last character
  std::string far = key.substr(0, 21);
  for (size_t i = 21; i < key.size(); ++i) far += key[i] == 'A' ? 'B' : 'A';  // none
  const auto time_one = [&](const std::string& k) {
    const Clock::time_point start = Clock::now();
    const HttpResult r = client.Send("GET", "/v1/bot", "", Bearer(k));
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    EXPECT_EQ(r.status, 401) << r.Describe();
    return us;
  };
  for (int i = 0; i < 50; ++i) time_one(far), time_one(near);  // warm up
  std::vector<double> near_us, far_us;
  constexpr int kSamples = 600;
  for (int i = 0; i < kSamples; ++i) {
    // Alternated, so load on the machine falls on both alike.
    if (i % 2 == 0) {
      near_us.push_back(time_one(near));
      far_us.push_back(time_one(far));
    } else {
      far_us.push_back(time_one(far));
      near_us.push_back(time_one(near));
    }
  }
  const auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  const double near_median = median(near_us), far_median = median(far_us);
  std::printf("key check: all-but-one match %.1f us, no match %.1f us (medians of %d)\n",
              near_median, far_median, kSamples);
  EXPECT_LT(std::abs(near_median - far_median), 0.2 * std::min(near_median, far_median) + 25.0)
      << "near " << near_median << " us, far " << far_median << " us";
}

TEST_F(OwaspTest, Api3And6UnknownAdminFieldsAreRefusedAndClientFieldsCannotChooseTheOwner) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string alice = CreateKey(client, admin, "alice", "client");
  const std::string id = IdOf(alice);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"/v1/admin/keys", R"({"name":"x","role":"client","id":"00000000000000aa"})"},
      {"/v1/admin/keys", R"({"name":"x","role":"client","secret_hash":"00"})"},
      {"/v1/admin/keys", R"({"name":"x","role":"client","requests":5,"created_by":"me"})"},
      {"/v1/admin/lockdown", R"({"on":false,"by":"someone else"})"},
      {"/v1/admin/keys/" + id + "/rotate", R"({"grace":"1h","key":"cbk_x"})"}};
  for (const auto& [path, body] : refused) {
    const HttpResult r = Send(client, "POST", path, body, Bearer(admin));
    EXPECT_EQ(r.status, 400) << path << " " << body << " " << r.Describe();
    EXPECT_EQ(Code(r), "unknown_field") << body;
  }
  HttpResult r = Send(client, "PATCH", "/v1/admin/keys/" + id,
                      R"({"revoked_at":null,"role":"admin"})", Bearer(admin));
  EXPECT_EQ(r.status, 400) << r.Describe();
  r = Send(client, "GET", "/v1/admin/keys/" + id, "", Bearer(admin));
  EXPECT_EQ(r.Json().at("role"), "client") << "a refused body changed nothing";
  // The client API ignores fields it does not have (docs/api.md): the owner
  // of a session is the caller, whatever the body says.
  r = Send(client, "POST", "/v1/chat",
           R"({"message":"where is my order","owner":"key 0000000000000000","turn":99})",
           Bearer(alice));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("turn"), 1);
  const std::string session(r.Json().at("session_id").as_string());
  EXPECT_EQ(Send(client, "GET", "/v1/sessions/" + session, "", Bearer(alice)).status, 200);
}

TEST_F(OwaspTest, Api5EveryAdminAndOperatorEndpointRefusesEveryWeakerRole) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string op = CreateKey(client, admin, "ops", "operator");
  const std::string user = CreateKey(client, admin, "user", "client");
  const std::string id = IdOf(user);
  struct Endpoint {
    std::string method, path, body;
    bool admin_only;
  };
  const std::vector<Endpoint> endpoints = {
      {"GET", "/v1/admin/keys", "", true},
      {"POST", "/v1/admin/keys", R"({"name":"x","role":"admin"})", true},
      {"GET", "/v1/admin/keys/" + id, "", true},
      {"PATCH", "/v1/admin/keys/" + id, R"({"role":"admin"})", true},
      {"DELETE", "/v1/admin/keys/" + id, "", true},
      {"POST", "/v1/admin/keys/" + id + "/rotate", "{}", true},
      {"POST", "/v1/admin/keys/" + id + "/revoke", "{}", true},
      {"GET", "/v1/admin/lockdown", "", true},
      {"POST", "/v1/admin/lockdown", R"({"on":true})", true},
      {"GET", "/v1/admin/config", "", true},
      {"GET", "/v1/admin/notice", "", true},
      {"PUT", "/v1/admin/notice", R"({"text":"x"})", true},
      {"DELETE", "/v1/admin/notice", "", true},
      {"GET", "/v1/model", "", false},
      {"POST", "/v1/model/reload", "", false},
      {"GET", "/metrics", "", false},
      {"GET", "/v1/review", "", false},
      {"GET", "/v1/review/intents", "", false},
      {"GET", "/v1/review/export", "", false},
      {"POST", "/v1/review/labels", R"({"session_id":"x","turn":1,"intent":"greeting"})", false},
  };
  for (const Endpoint& e : endpoints) {
    std::vector<std::pair<std::string, HttpHeaders>> weaker = {{"anonymous", {}},
                                                               {"client", Bearer(user)}};
    if (e.admin_only) weaker.push_back({"operator", Bearer(op)});
    for (const auto& [role, headers] : weaker) {
      const HttpResult r = Send(client, e.method, e.path, e.body, headers);
      EXPECT_TRUE(r.status == 401 || r.status == 403)
          << role << " " << e.method << " " << e.path << ": " << r.Describe();
    }
  }
  // Nothing changed: the client key is still a client, no lockdown.
  const HttpResult key = Send(client, "GET", "/v1/admin/keys/" + id, "", Bearer(admin));
  EXPECT_EQ(key.Json().at("role"), "client");
  EXPECT_EQ(key.Json().at("status"), "active");
  EXPECT_EQ(client.Get("/health").Json().at("lockdown").at("on"), false);
}

TEST_F(OwaspTest, Api8SqlMetacharactersAndTraversalAreDataNeverCommandsOrFiles) {
  // Hundreds of requests in a second: no rate limit in the way.
  ServerProcess& server = StartServer(
      {"--set", "security.rate_limit_admin=0", "--set", "security.rate_limit_per_address=0"});
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::vector<std::string> attacks = {"'; DROP TABLE sessions; --",
                                            "' OR '1'='1",
                                            "\" OR \"\"=\"",
                                            "1; SELECT * FROM keys",
                                            "../../../../etc/passwd",
                                            "..%2F..%2F..%2Fetc%2Fpasswd",
                                            "%00",
                                            "$(id)",
                                            "\\x00'--",
                                            ") UNION SELECT secret_hash FROM api_keys --"};
  HttpResult r =
      Send(client, "POST", "/v1/chat", R"({"message":"where is my order"})", Bearer(admin));
  ASSERT_EQ(r.status, 200);
  const std::string session(r.Json().at("session_id").as_string());
  for (const std::string& a : attacks) {
    const std::string q = json::serialize(json::value(a));
    Send(client, "POST", "/v1/parse", R"({"text":)" + q + "}", Bearer(admin));
    Send(client, "POST", "/v1/parse/batch", R"({"texts":[)" + q + "]}", Bearer(admin));
    r = Send(client, "POST", "/v1/chat", R"({"message":)" + q + "}", Bearer(admin));
    EXPECT_EQ(r.status, 200) << a << " " << r.Describe();
    Send(client, "POST", "/v1/chat", R"({"message":"hi","session_id":)" + q + "}", Bearer(admin));
    std::string encoded;
    for (unsigned char c : a) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(hex);
    }
    for (const std::string& target :
         {"/v1/sessions/" + encoded, "/v1/sessions?q=" + encoded, "/v1/sessions?intent=" + encoded,
          "/v1/sessions?since=" + encoded, "/v1/admin/keys/" + encoded,
          "/v1/review?intent=" + encoded, "/static/" + encoded, "/" + encoded}) {
      Send(client, "GET", target, "", Bearer(admin));
    }
    Send(client, "DELETE", "/v1/sessions/" + encoded, "", Bearer(admin));
    r = Send(client, "POST", "/v1/admin/keys",
             json::serialize(json::object{{"name", a}, {"role", "client"}}), Bearer(admin));
    if (r.status == 201) {
      Remember(std::string(r.Json().at("key").as_string()));
      EXPECT_EQ(r.Json().at("name"), json::value(a)) << "stored as given";
    }
    Send(client, "PUT", "/v1/admin/notice", json::serialize(json::object{{"text", a}}),
         Bearer(admin));
  }
  for (const std::string& raw :
       {"/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd", "/..%2f..%2fetc%2fpasswd", "/static//etc/passwd",
        "/static/%2e%2e%2fconfig%2fchatbot.toml", "/../config/chatbot.toml"}) {
    r = Send(client, "GET", raw, "", {});
    EXPECT_NE(r.status, 200) << raw << " " << r.Describe();
  }
  // The data is intact: the first session and the keys are all there.
  r = Send(client, "GET", "/v1/sessions/" + session, "", Bearer(admin));
  EXPECT_EQ(r.status, 200) << r.Describe();
  r = Send(client, "GET", "/v1/admin/keys", "", Bearer(admin));
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(r.Json().at("keys").as_array().size(), attacks.size());
}

// Every string literal route of the server's source is documented, and
// what looks like a debug endpoint is not there.
TEST_F(OwaspTest, Api9EveryRouteIsDocumentedAndNoDebugEndpointAnswers) {
  const fs::path source(CHATBOT_SOURCE_DIR);
  const auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string docs = read(source / "docs/api.md") + read(source / "docs/web.md");
  static const std::regex kRoute(R"re("(/(?:v1|health|ready|metrics)[a-z0-9/_]*)")re");
  std::set<std::string> routes;
  for (const auto& entry : fs::directory_iterator(source / "src/server")) {
    if (entry.path().extension() != ".cc") continue;
    const std::string text = read(entry.path());
    for (std::sregex_iterator it(text.begin(), text.end(), kRoute), end; it != end; ++it) {
      routes.insert((*it)[1].str());
    }
  }
  EXPECT_GE(routes.size(), 10u);
  for (std::string route : routes) {
    while (route.size() > 1 && route.back() == '/') route.pop_back();
    EXPECT_NE(docs.find(route), std::string::npos) << route << " is served but not documented";
  }

  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  for (const char* path : {"/debug",
                           "/debug/pprof",
                           "/debug/vars",
                           "/v1/debug",
                           "/v1/admin/debug",
                           "/status",
                           "/server-status",
                           "/.git/config",
                           "/.env",
                           "/env",
                           "/config",
                           "/v1/config",
                           "/swagger.json",
                           "/openapi.json",
                           "/api-docs",
                           "/v2/chat",
                           "/v0/chat",
                           "/v1/internal",
                           "/v1/admin/users",
                           "/v1/admin/sql",
                           "/actuator",
                           "/trace",
                           "/console",
                           "/admin.php",
                           "/v1/admin/shutdown",
                           "/v1/sessions.json",
                           "/metrics.json",
                           "/v1/keys"}) {
    const HttpResult r = Send(client, "GET", path, "", Bearer(admin));
    EXPECT_EQ(r.status, 404) << path << " " << r.Describe();
  }
}

}  // namespace
}  // namespace chatbot::testing
