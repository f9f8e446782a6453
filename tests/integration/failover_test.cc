// Failover of the PostgreSQL backend (docs/OPERATIONS.md, "Failover"): a
// primary with a synchronous streaming standby, both made by the test
// (postgres_server.h), two `chatbot serve` instances whose connection string
// lists both servers with target_session_attrs=read-write, and a client per
// instance writing chat turns without a pause and recording every turn
// answered 200. The primary is killed with SIGKILL, the standby promoted;
// then
//   (a) every acknowledged turn is on the new primary,
//   (b) both instances serve turns again within 10 s of the promotion,
//       without a restart,
//   (c) every request in the gap was answered 503 with Retry-After (never a
//       500, a broken connection or a hang) within the configured
//       connect plus query timeouts, and /health named the database.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "postgres_server.h"
#include "server_process.h"
#include "store/postgres_session_store.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kConnectTimeoutMs = 1000;
constexpr int kQueryTimeoutMs = 2000;

// One request of a writer: when it was sent, how long it took, what came
// back (-1: no HTTP answer at all), and for a 200 the turn it stored.
struct Outcome {
  Clock::time_point sent;
  double seconds = 0;
  int status = -1;
  bool retry_after = false;
  std::string error;
  int64_t turn = 0;
  std::string text;
};

// Sends turns of one session to one instance until told to stop.
class Writer {
 public:
  Writer(uint16_t port, std::string name) : port_(port), name_(std::move(name)) {}
  ~Writer() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<Outcome> outcomes() const {
    std::lock_guard lock(mu_);
    return outcomes_;
  }
  const std::string& session() const { return session_; }

  // Requests sent at or after `since` that were answered `status`.
  int Count(int status, Clock::time_point since = {}) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const Outcome& o : outcomes_) n += o.status == status && o.sent >= since;
    return n;
  }
  // When the first request sent at or after `since` was answered 200.
  std::optional<Clock::time_point> FirstSuccess(Clock::time_point since) const {
    std::lock_guard lock(mu_);
    for (const Outcome& o : outcomes_) {
      if (o.status == 200 && o.sent >= since) {
        return o.sent + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(o.seconds));
      }
    }
    return std::nullopt;
  }

 private:
  void Run() {
    // Longer than any configured bound: a hang shows as an error, not a wait.
    HttpClient client(port_, "127.0.0.1", std::chrono::seconds(15));
    for (int i = 1; !stop_; ++i) {
      Outcome o;
      o.text = name_ + " turn " + std::to_string(i);
      json::object body{{"message", o.text}};
      if (!session_.empty()) body["session_id"] = session_;
      o.sent = Clock::now();
      try {
        const HttpResult r = client.Post("/v1/chat", body);
        o.status = r.status;
        o.retry_after = !r.Header("retry-after").empty();
        if (r.status == 200) {
          const json::object reply = r.Json().as_object();
          if (session_.empty()) session_ = std::string(reply.at("session_id").as_string());
          o.turn = reply.at("turn").as_int64();
        } else {
          o.error = r.Describe();
        }
      } catch (const std::exception& e) {
        o.error = e.what();
      }
      o.seconds = std::chrono::duration<double>(Clock::now() - o.sent).count();
      std::lock_guard lock(mu_);
      outcomes_.push_back(std::move(o));
    }
  }

  const uint16_t port_;
  const std::string name_;
  std::string session_;  // written by the thread before any Count() can see a 200
  std::atomic<bool> stop_ = false;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Outcome> outcomes_;  // guarded by mu_
};

// Polls `done` until it holds or `limit` passes.
template <typename Predicate>
bool WaitFor(Predicate done, Clock::duration limit) {
  const Clock::time_point deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      CHATBOT_SKIP("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)");
    }
    primary_ = std::make_unique<PostgresServer>(PostgresServerOptions{.replication = true});
    standby_ = primary_->MakeStandby();
    // Made after the standby is synchronous: the database is on both.
    const std::string single = primary_->CreateDatabase();
    database_ = single.substr(single.find("dbname=") + 7);
    url_ = "host=127.0.0.1,127.0.0.1 port=" + std::to_string(primary_->port()) + "," +
           std::to_string(standby_->port()) + " user=postgres dbname=" + database_ +
           " target_session_attrs=read-write";
  }

  std::unique_ptr<ServerProcess> StartInstance(TempDir& dir) {
    InstallSharedModel(dir.path());
    auto serve = std::make_unique<ServerProcess>(ServerOptions{
        dir.path(),
        {"--set", "store.backend=postgres", "--set", "store.postgres_url=" + url_, "--set",
         "store.postgres_connect_timeout_ms=" + std::to_string(kConnectTimeoutMs), "--set",
         "store.postgres_query_timeout_ms=" + std::to_string(kQueryTimeoutMs)},
        {}});
    serve->Start();
    return serve;
  }

  std::unique_ptr<PostgresServer> primary_;
  std::unique_ptr<PostgresServer> standby_;
  std::string database_;
  std::string url_;
  TempDir work_a_{"chatbot-failover-a"};
  TempDir work_b_{"chatbot-failover-b"};
};

TEST_F(FailoverTest, LosesNoAcknowledgedTurnAndServesAgainAfterPromotion) {
  // One at a time: the first start writes the first admin key.
  const std::unique_ptr<ServerProcess> a = StartInstance(work_a_);
  const std::unique_ptr<ServerProcess> b = StartInstance(work_b_);
  std::vector<std::unique_ptr<Writer>> writers;
  writers.push_back(std::make_unique<Writer>(a->port(), "a"));
  writers.push_back(std::make_unique<Writer>(b->port(), "b"));
  for (auto& w : writers) w->Start();
  const auto all = [&](auto predicate) {
    for (const auto& w : writers) {
      if (!predicate(*w)) return false;
    }
    return true;
  };

  ASSERT_TRUE(WaitFor([&] { return all([](const Writer& w) { return w.Count(200) >= 10; }); },
                      std::chrono::seconds(30)))
      << "the writers did not get going" << a->Describe() << b->Describe();

  primary_->Kill();
  const Clock::time_point killed = Clock::now();
  // The gap: both instances answer while there is no primary.
  EXPECT_TRUE(
      WaitFor([&] { return all([&](const Writer& w) { return w.Count(503, killed) >= 3; }); },
              std::chrono::seconds(10)))
      << "no 503 from each instance while the database was down";
  HttpClient probe(a->port());
  const HttpResult health = probe.Get("/health");
  EXPECT_EQ(health.status, 503) << health.Describe();
  EXPECT_EQ(health.Json().at("dependencies").at("database").at("kind"), "postgres")
      << health.Describe();
  EXPECT_EQ(health.Json().at("dependencies").at("database").at("state"), "unavailable")
      << health.Describe();
  EXPECT_NE(std::string(health.Json().at("reason").as_string()).find("PostgreSQL"),
            std::string::npos)
      << health.Describe();

  standby_->Promote();
  const Clock::time_point promoted = Clock::now();
  // (b) Each instance stores a turn again, by itself, within 10 s.
  EXPECT_TRUE(WaitFor(
      [&] { return all([&](const Writer& w) { return w.FirstSuccess(promoted).has_value(); }); },
      std::chrono::seconds(20)));
  for (const auto& w : writers) {
    const auto first = w->FirstSuccess(promoted);
    ASSERT_TRUE(first.has_value()) << "an instance never served again" << a->Describe();
    const double seconds = std::chrono::duration<double>(*first - promoted).count();
    EXPECT_LT(seconds, 10.0) << "first turn after the promotion";
    std::printf("first turn %.3f s after the promotion, %.3f s after the primary was killed\n",
                seconds, std::chrono::duration<double>(*first - killed).count());
  }
  // A few more turns on the new primary, then stop writing.
  EXPECT_TRUE(
      WaitFor([&] { return all([&](const Writer& w) { return w.Count(200, promoted) >= 5; }); },
              std::chrono::seconds(20)));
  for (auto& w : writers) w->Stop();
  EXPECT_TRUE(a->running() && b->running()) << "an instance was restarted or died";
  EXPECT_EQ(probe.Get("/health").status, 200);

  // (c) Every answer was 200 or a quick 503 with Retry-After.
  const double bound = (kConnectTimeoutMs + kQueryTimeoutMs) / 1000.0;
  int gap_requests = 0;
  for (const auto& w : writers) {
    for (const Outcome& o : w->outcomes()) {
      gap_requests += o.sent >= killed && o.status == 503;
      EXPECT_TRUE(o.status == 200 || o.status == 503) << o.status << " " << o.error;
      if (o.status == 503) {
        EXPECT_TRUE(o.retry_after) << o.error;
      }
      EXPECT_LT(o.seconds, bound) << "a request took " << o.seconds << " s: " << o.error;
    }
  }
  std::printf("requests answered 503 during the gap: %d\n", gap_requests);

  // (a) Every acknowledged turn is on the new primary.
  store::PostgresSessionStore sessions(
      {.url = standby_->Url(database_), .pool_size = 1, .connect_timeout_ms = 5000});
  int acknowledged = 0;
  for (const auto& w : writers) {
    const auto stored = sessions.GetSession(w->session(), true);
    ASSERT_TRUE(stored.has_value()) << w->session();
    for (const Outcome& o : w->outcomes()) {
      if (o.status != 200) continue;
      ++acknowledged;
      ASSERT_LE(o.turn, static_cast<int64_t>(stored->turns.size())) << o.text;
      EXPECT_EQ(stored->turns[o.turn - 1].user_text, o.text) << "turn " << o.turn;
    }
  }
  std::printf("acknowledged turns, all found on the new primary: %d\n", acknowledged);
  EXPECT_EQ(a->Terminate(), 0) << a->Describe();
  EXPECT_EQ(b->Terminate(), 0) << b->Describe();
}

}  // namespace
}  // namespace chatbot::testing
