// The service notice against the real `chatbot serve` (docs/OPERATIONS.md,
// "Telling users"): set with `chatbot notice set` while the service runs, it
// reaches /health, chat replies, GET /v1/bot and the lockdown refusal within
// the service's one-second poll; the admin API sets, shows and clears it
// (admins only), refusing bad bodies; an --until notice disappears by
// itself; the configured [bot] notice returns when the operator's ends. The
// PostgreSQL side (every instance, and a database outage) is in
// postgres_backend_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

class NoticeTest : public SecurityTest {
 protected:
  // Polls /health until its notice is `want` (null: none), at most `limit`.
  static bool HealthNoticeBecomes(HttpClient& client, const json::value& want,
                                  std::chrono::milliseconds limit) {
    const Clock::time_point deadline = Clock::now() + limit;
    do {
      const HttpResult health = client.Get("/health");
      if (health.Json().as_object().if_contains("notice") && health.Json().at("notice") == want) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (Clock::now() < deadline);
    return false;
  }
};

TEST_F(NoticeTest, CommandLineNoticeReachesEveryAnswerOfTheRunningService) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  EXPECT_EQ(client.Get("/health").Json().at("notice"), nullptr);

  const ProcessResult set =
      Cli({"notice", "set", "Maintenance from 20:00 UTC; replies may pause."});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  EXPECT_THAT(set.out, HasSubstr("Service notice: Maintenance from 20:00 UTC"));
  const json::value text = json::string("Maintenance from 20:00 UTC; replies may pause.");
  // The service reads the store once a second.
  ASSERT_TRUE(HealthNoticeBecomes(client, text, std::chrono::seconds(5)));

  const HttpResult chat = client.Post("/v1/chat", json::object{{"message", "where is my order"}});
  ASSERT_EQ(chat.status, 200) << chat.Describe();
  EXPECT_EQ(chat.Json().at("notice"), text);
  EXPECT_EQ(client.Get("/v1/bot").Json().at("notice"), text);

  const ProcessResult shown = Cli({"notice", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const json::value shown_json = json::parse(shown.out);
  EXPECT_EQ(shown_json.at("text"), text);
  EXPECT_EQ(shown_json.at("until"), nullptr);

  // During a lockdown the refusal carries it.
  ASSERT_EQ(Cli({"lockdown", "on", "--reason", "maintenance"}).exit_code, 0);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  HttpResult refused = Parse(client);
  while (refused.status != 503 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    refused = Parse(client);
  }
  ASSERT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_EQ(Code(refused), "lockdown");
  EXPECT_EQ(refused.Json().at("notice"), text);
  EXPECT_EQ(client.Get("/health").Json().at("notice"), text);
  ASSERT_EQ(Cli({"lockdown", "off"}).exit_code, 0);

  const ProcessResult cleared = Cli({"notice", "clear"});
  EXPECT_EQ(cleared.exit_code, 0) << cleared.err;
  EXPECT_THAT(cleared.out, HasSubstr("cleared"));
  EXPECT_TRUE(HealthNoticeBecomes(client, nullptr, std::chrono::seconds(5)));
  EXPECT_THAT(Cli({"notice"}).out, HasSubstr("No service notice is set."));
}

TEST_F(NoticeTest, CommandLineRefusesBadNotices) {
  StartServer();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"notice", "set", "   "},
           {"notice", "set", "two\nlines"},
           {"notice", "set", "ok", "--until", "yesterday"},
           {"notice", "set", "ok", "--until", "2020-01-01T00:00:00Z"}}) {
    const ProcessResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[2] << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("chatbot: ")) << r.err;
  }
  EXPECT_THAT(Cli({"notice"}).out, HasSubstr("No service notice is set."));
}

TEST_F(NoticeTest, AdminApiSetsShowsAndClearsForAdminsOnly) {
  ServerProcess& server = StartServer({"--set", "bot.notice=Opening hours change in January."});
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const std::string op = CreateKey(client, admin, "ops", "operator");
  const std::string user = CreateKey(client, admin, "shop", "client");
  const json::value configured = json::string("Opening hours change in January.");
  EXPECT_EQ(client.Get("/health").Json().at("notice"), configured);

  HttpResult r = client.Get("/v1/admin/notice", Bearer(admin));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("notice"), nullptr);  // no operator notice: [bot] notice shows

  const json::object body{{"text", "Degraded: answers may be slow."}, {"until", "3s"}};
  for (const std::string& weaker : {op, user}) {
    EXPECT_EQ(client.Send("PUT", "/v1/admin/notice", json::serialize(body), Bearer(weaker)).status,
              403);
    EXPECT_EQ(client.Send("DELETE", "/v1/admin/notice", "", Bearer(weaker)).status, 403);
    EXPECT_EQ(client.Get("/v1/admin/notice", Bearer(weaker)).status, 403);
  }
  // Without a key: the anonymous client of loopback.
  EXPECT_EQ(client.Send("PUT", "/v1/admin/notice", json::serialize(body)).status, 403);

  for (const auto& [bad, code] : std::vector<std::pair<std::string, std::string>>{
           {R"({"until":"1h"})", "missing_field"},
           {R"({"text":""})", "bad_parameter"},
           {R"({"text":7})", "wrong_type"},
           {R"({"text":"x","until":"soon"})", "bad_parameter"},
           {R"({"text":"x","until":5})", "wrong_type"},
           {R"({"text":"x","set_by":"someone else"})", "unknown_field"}}) {
    r = client.Send("PUT", "/v1/admin/notice", bad, Bearer(admin));
    EXPECT_EQ(r.status, 400) << bad << " " << r.Describe();
    EXPECT_EQ(Code(r), code) << bad;
  }
  EXPECT_EQ(client.Send("POST", "/v1/admin/notice", json::serialize(body), Bearer(admin)).status,
            405);

  r = client.Send("PUT", "/v1/admin/notice", json::serialize(body), Bearer(admin));
  ASSERT_EQ(r.status, 200) << r.Describe();
  const json::value set_body = r.Json();
  const json::value& notice = set_body.at("notice");
  EXPECT_EQ(notice.at("text"), "Degraded: answers may be slow.");
  EXPECT_THAT(std::string(notice.at("set_by").as_string()), HasSubstr("key " + IdOf(admin)));
  EXPECT_TRUE(notice.at("until").is_string());
  // At once on the instance that took it, then gone by itself after 3 s,
  // and the configured notice is back.
  EXPECT_EQ(client.Get("/health").Json().at("notice"), "Degraded: answers may be slow.");
  EXPECT_TRUE(HealthNoticeBecomes(client, configured, std::chrono::seconds(10)));
  EXPECT_EQ(client.Get("/v1/admin/notice", Bearer(admin)).Json().at("notice"), nullptr);

  r = client.Send("PUT", "/v1/admin/notice", R"({"text":"Until cleared."})", Bearer(admin));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("notice").at("until"), nullptr);
  EXPECT_EQ(client.Get("/v1/bot", Bearer(user)).Json().at("notice"), "Until cleared.");
  r = client.Send("DELETE", "/v1/admin/notice", "", Bearer(admin));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("notice"), nullptr);
  EXPECT_EQ(client.Get("/health").Json().at("notice"), configured);
}

}  // namespace
}  // namespace chatbot::testing
