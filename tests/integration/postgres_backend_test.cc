// `chatbot serve` with store.backend = postgres against a throwaway
// PostgreSQL server (postgres_server.h): chat turns and the first admin key
// are stored there; while the database is stopped, chat is answered 503
// with Retry-After at once and /health says the storage is unavailable;
// when it is back, chat works again without restarting the service. A
// service notice written to the database (as by another instance) shows, and
// stays in the 503 bodies and /health during the outage. A
// server that cannot be reached at start stops the start, named. The
// `chatbot sessions` commands read, export and clean the same database.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "ci_skip.h"
#include "http_client.h"
#include "ops/postgres_notice_store.h"
#include "postgres_server.h"
#include "process_runner.h"
#include "security/postgres_key_store.h"
#include "server_process.h"
#include "store/postgres_session_store.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

class PostgresBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      CHATBOT_SKIP("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)");
    }
    // A server of its own: this test stops and starts it.
    postgres_ = std::make_unique<PostgresServer>();
    url_ = postgres_->CreateDatabase();
    InstallSharedModel(work_.path());
  }

  std::vector<std::string> PostgresArgs(const std::string& url) const {
    return {"--set", "store.backend=postgres",
            "--set", "store.postgres_url=" + url,
            "--set", "store.postgres_connect_timeout_ms=500"};
  }

  static HttpResult Chat(HttpClient& client, const std::string& session, const std::string& text) {
    json::object body{{"message", text}};
    if (!session.empty()) body["session_id"] = session;
    return client.Post("/v1/chat", body);
  }

  TempDir work_{"chatbot-pg-serve"};
  std::unique_ptr<PostgresServer> postgres_;
  std::string url_;
};

TEST_F(PostgresBackendTest, ChatsThroughAnOutageWithoutARestart) {
  ServerProcess serve({work_.path(), PostgresArgs(url_), {}});
  serve.Start();
  HttpClient client(serve.port());

  HttpResult r = Chat(client, "", "where is my order");
  ASSERT_EQ(r.status, 200) << r.Describe() << serve.Describe();
  const std::string session(r.Json().at("session_id").as_string());
  r = Chat(client, session, "thanks");
  ASSERT_EQ(r.status, 200) << r.Describe();

  // The turns and the first admin key are in PostgreSQL.
  db::PgOptions options{.url = url_, .pool_size = 2, .connect_timeout_ms = 2000};
  {
    store::PostgresSessionStore sessions(options);
    const auto stored = sessions.GetSession(session, true);
    ASSERT_TRUE(stored.has_value());
    ASSERT_EQ(stored->turns.size(), 2u);
    EXPECT_EQ(stored->turns[0].user_text, "where is my order");
    EXPECT_EQ(stored->turns[1].user_text, "thanks");
    security::PostgresKeyStore keys(options);
    EXPECT_EQ(keys.List().size(), 1u);
    // Another instance (or `chatbot notice set`) sets the notice.
    ops::PostgresNoticeStore(options).Set(
        {.text = "Database maintenance", .set_at_ms = 0, .set_by = "test", .until_ms = {}});
  }
  const Clock::time_point shown_by = Clock::now() + std::chrono::seconds(5);
  while (client.Get("/health").Json().at("notice") != "Database maintenance" &&
         Clock::now() < shown_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Chat(client, session, "still there?").Json().at("notice"), "Database maintenance");

  postgres_->Stop();
  const Clock::time_point start = Clock::now();
  r = Chat(client, session, "are you there");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_FALSE(r.Header("retry-after").empty()) << r.Describe();
  EXPECT_EQ(r.Json().at("notice"), "Database maintenance") << r.Describe();
  EXPECT_LT(seconds, 2.0);
  EXPECT_EQ(Chat(client, "", "a new conversation").status, 503);
  const HttpResult health = client.Get("/health");
  EXPECT_EQ(health.status, 503) << health.Describe();
  EXPECT_EQ(health.Json().at("storage"), "unavailable") << health.Describe();
  EXPECT_EQ(health.Json().at("reason"),
            "session storage is unavailable: the PostgreSQL database does not answer")
      << health.Describe();
  EXPECT_EQ(health.Json().at("dependencies").at("database").at("state"), "unavailable")
      << health.Describe();
  EXPECT_EQ(health.Json().at("notice"), "Database maintenance") << health.Describe();

  postgres_->Start();
  r = Chat(client, session, "hello again");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("turn"), 4) << r.Describe();
  EXPECT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(Chat(client, "", "a new conversation").status, 200);
  EXPECT_EQ(serve.Terminate(), 0) << serve.Describe();
}

TEST_F(PostgresBackendTest, AnUnreachableServerStopsTheStartNamingIt) {
  postgres_->Stop();  // nothing listens on its port now
  const std::string where = "127.0.0.1:" + std::to_string(postgres_->port()) + "/postgres";
  ServerProcess serve({work_.path(), PostgresArgs(postgres_->Url()), {}});
  try {
    serve.Start();
    FAIL() << "serve started without its database";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exited with status"), std::string::npos) << what;
    EXPECT_EQ(what.find("exited with status 0 "), std::string::npos) << what;
    EXPECT_NE(what.find(where), std::string::npos) << what;
  }
}

TEST_F(PostgresBackendTest, SessionsCommandsReadExportAndCleanTheSharedDatabase) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  constexpr int64_t kDay = 24 * 3600 * 1000;
  {
    store::PostgresSessionStore sessions({.url = url_, .pool_size = 2});
    for (const auto& [id, updated] :
         {std::pair<std::string, int64_t>{"old", now - 40 * kDay}, {"recent", now - kDay}}) {
      sessions.CreateSession(id, updated - 1000);
      for (int64_t n = 1; n <= 2; ++n) {
        store::Turn turn;
        turn.number = n;
        turn.user_text = id + " turn " + std::to_string(n);
        turn.intent = "order_status";
        turn.confidence = 0.25;
        turn.model = "svm";
        turn.model_version = "v1";
        turn.reply = "reply " + std::to_string(n);
        turn.received_at_ms = updated - 10 + n;
        turn.replied_at_ms = updated - 5 + n;
        sessions.AppendTurn(id, turn, "{}");
      }
    }
    ASSERT_TRUE(sessions.LabelTurn("recent", 2, "track_parcel", "admin", now).has_value());
  }
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> all = PostgresArgs(url_);
    all.insert(all.end(), args.begin(), args.end());
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    options.args = all;
    options.working_directory = work_.path();
    return RunProcess(options);
  };
  ProcessResult r = run({"sessions", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_LT(r.out.find("\"recent\""), r.out.find("\"old\"")) << r.out;  // newest first
  r = run({"sessions", "show", "old"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("old turn 2"), std::string::npos) << r.out;
  r = run({"sessions", "export"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_LT(r.out.find("old turn 1"), r.out.find("recent turn 1")) << r.out;  // oldest first
  r = run({"sessions", "labels"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("recent turn 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("track_parcel"), std::string::npos) << r.out;
  r = run({"sessions", "clean", "--older-than", "30d"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("Deleted 1 sessions"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bytes"), std::string::npos) << r.out;  // no file sizes on PostgreSQL
  r = run({"sessions", "show", "old"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  r = run({"sessions", "show", "recent"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  // With the server down: a failure naming it, nothing made up.
  postgres_->Stop();
  r = run({"sessions", "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(postgres_->port())), std::string::npos)
      << Describe(r);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace chatbot::testing
