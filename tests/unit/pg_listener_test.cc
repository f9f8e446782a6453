// The notification listener (db/pg_listener.h) against a throwaway
// PostgreSQL server: it hears NOTIFY on its channels (a key store change
// among them), and when its connection breaks (the backend terminated, the
// server restarted) it drops it, connects again by itself, runs
// on_connected again and hears what is sent after.
#include "db/pg_listener.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "common/error.h"
#include "postgres_server.h"
#include "security/postgres_key_store.h"

namespace chatbot::db {
namespace {

using Clock = std::chrono::steady_clock;
using testing::PostgresServer;

// Collects what the listener hands over, from its thread.
struct Heard {
  std::mutex mu;
  std::vector<PgNotification> notifications;
  int connected = 0;

  bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (done()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mu);
    return done();
  }
  bool HasPayload(const std::string& channel, const std::string& payload) {
    for (const PgNotification& n : notifications) {
      if (n.channel == channel && n.payload == payload) return true;
    }
    return false;
  }
};

class PgListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      CHATBOT_SKIP("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)");
    }
  }

  // Starts a listener on `url` and waits for its first connection.
  void ListenOn(const std::string& url) {
    url_ = url;
    PgListenerOptions options;
    options.url = url;
    options.channels = {"chatbot_test", security::PostgresKeyStore::kChangesChannel};
    options.retry_max = std::chrono::milliseconds(200);
    Heard* heard = &heard_;
    listener_ = std::make_unique<PgListener>(
        options,
        [heard](const PgNotification& n) {
          std::lock_guard lock(heard->mu);
          heard->notifications.push_back(n);
        },
        [heard] {
          std::lock_guard lock(heard->mu);
          ++heard->connected;
        });
    listener_->Start();
    ASSERT_TRUE(heard_.WaitFor([&] { return heard_.connected == 1; }, std::chrono::seconds(10)));
  }

  // The same in a fresh database of the test binary's shared server.
  void ListenOnSharedServer() {
    std::string why;
    PostgresServer* server = testing::SharedPostgresServer(&why);
    ASSERT_NE(server, nullptr) << why;
    ListenOn(server->CreateDatabase());
  }

  std::string url_;
  Heard heard_;
  std::unique_ptr<PgListener> listener_;
};

TEST_F(PgListenerTest, HearsNotificationsAndKeyChanges) {
  ASSERT_NO_FATAL_FAILURE(ListenOnSharedServer());
  const std::string& url = url_;
  Heard& heard = heard_;
  PgConnection other(url, 2000, 2000, "test");
  other.Execute("SELECT pg_notify('chatbot_test', 'hello')", "notify");
  other.Execute("SELECT pg_notify('not_listened', 'no')", "notify");
  EXPECT_TRUE(heard.WaitFor([&] { return heard.HasPayload("chatbot_test", "hello"); },
                            std::chrono::seconds(5)));
  // A committed lockdown change of the keys store is announced.
  security::PostgresKeyStore keys({.url = url, .pool_size = 1, .connect_timeout_ms = 2000});
  keys.SetLockdown({.on = true, .since_ms = 1, .by = "test", .reason = "r"});
  EXPECT_TRUE(heard.WaitFor([&] { return heard.HasPayload("chatbot_keys", "1"); },
                            std::chrono::seconds(5)));
  std::lock_guard lock(heard.mu);
  for (const PgNotification& n : heard.notifications) EXPECT_NE(n.channel, "not_listened");
}

TEST_F(PgListenerTest, ReconnectsWhenItsBackendIsTerminated) {
  ASSERT_NO_FATAL_FAILURE(ListenOnSharedServer());
  const std::string& url = url_;
  Heard& heard = heard_;
  PgListener* listener = listener_.get();
  const int first_backend = listener->backend_pid();
  ASSERT_GT(first_backend, 0);
  PgConnection admin(url, 2000, 2000, "test");
  admin.Execute("SELECT pg_terminate_backend(" + std::to_string(first_backend) + ")",
                "terminate the listener");
  ASSERT_TRUE(heard.WaitFor([&] { return heard.connected == 2; }, std::chrono::seconds(10)))
      << "the listener did not connect again";
  EXPECT_EQ(listener->connections(), 2);
  EXPECT_TRUE(listener->connected());
  EXPECT_NE(listener->backend_pid(), first_backend);
  // Only the new connection is left: the broken one was dropped.
  const PgResult listening = admin.Execute(
      "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
      "datname = current_database() AND query LIKE 'SELECT pg_backend_pid()%'",
      "count listeners");
  EXPECT_EQ(listening.Int(0, 0), 1);
  admin.Execute("SELECT pg_notify('chatbot_test', 'after')", "notify");
  EXPECT_TRUE(heard.WaitFor([&] { return heard.HasPayload("chatbot_test", "after"); },
                            std::chrono::seconds(5)));
}

TEST_F(PgListenerTest, ReconnectsAfterTheServerRestarts) {
  // A server of its own: this test stops it.
  PostgresServer server;
  ASSERT_NO_FATAL_FAILURE(ListenOn(server.CreateDatabase()));
  const std::string& url = url_;
  Heard& heard = heard_;
  PgListener* listener = listener_.get();
  server.Stop();
  ASSERT_TRUE(heard.WaitFor([&] { return !listener->connected(); }, std::chrono::seconds(10)));
  // It keeps trying while the server is down, and is back soon after.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.Start();
  ASSERT_TRUE(heard.WaitFor([&] { return heard.connected == 2; }, std::chrono::seconds(15)));
  PgConnection other(url, 2000, 2000, "test");
  other.Execute("SELECT pg_notify('chatbot_test', 'back')", "notify");
  EXPECT_TRUE(heard.WaitFor([&] { return heard.HasPayload("chatbot_test", "back"); },
                            std::chrono::seconds(5)));
  listener->Stop();
  EXPECT_FALSE(listener->connected());
}

TEST_F(PgListenerTest, RefusesAChannelThatIsNotAPlainName) {
  EXPECT_THROW(PgListener(
                   {.url = "host=127.0.0.1", .channels = {"x; DROP TABLE y"}},
                   [](const PgNotification&) {}, [] {}),
               ConfigError);
}

}  // namespace
}  // namespace chatbot::db
