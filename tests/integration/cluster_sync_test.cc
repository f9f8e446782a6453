// How changes reach every instance (issue 16, scenarios c and d), with real
// processes: a throwaway PostgreSQL server (postgres_server.h) and three
// `chatbot serve` instances on it, each in its own directory whose model/
// is a link to one shared models directory.
//
// - A key revoked through one instance is refused by the other two within
//   1 s, on keep-alive connections opened before the revocation; a lockdown
//   switched on and off likewise.
// - A model trained into the shared directory and reloaded on one instance
//   is served by all three within 2 s, with no failed request under a
//   steady load meanwhile.
// - GET /v1/admin/cluster and `chatbot cluster status` list the three live
//   instances with their addresses and model version; one stopped cleanly
//   leaves the list, one killed is listed as gone.
//
// The delays measured are printed ("[ measured ]"), for docs/scaling.md.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "postgres_server.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

HttpHeaders Bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

std::string Code(const HttpResult& r) {
  boost::system::error_code error;
  const json::value v = json::parse(r.body, error);
  if (error || !v.is_object()) return "";
  const json::value* e = v.as_object().if_contains("error");
  return e != nullptr && e->is_object() ? std::string(e->at("code").as_string()) : "";
}

HttpResult Parse(HttpClient& client, const HttpHeaders& headers = {}) {
  return client.Post("/v1/parse", json::object{{"text", "where is my order"}}, headers);
}

class ClusterSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SharedTrainedModel(); }

  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      CHATBOT_SKIP("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)");
    }
    std::string why;
    PostgresServer* server = SharedPostgresServer(&why);
    ASSERT_NE(server, nullptr) << why;
    url_ = server->CreateDatabase();
    // One models directory for all: what a shared volume is in production.
    InstallSharedModel(work_.path());
    for (int i = 0; i < 3; ++i) {
      const fs::path dir = work_.path() / ("instance-" + std::to_string(i + 1));
      fs::create_directories(dir);
      fs::create_directory_symlink(work_.path() / "model", dir / "model");
      dirs_.push_back(dir);
    }
  }

  void TearDown() override {
    for (auto& instance : instances_) {
      if (instance->running()) instance->Terminate();
    }
  }

  std::vector<std::string> ClusterArgs() const {
    return {"--set", "store.backend=postgres",
            "--set", "store.postgres_url=" + url_,
            "--set", "security.rate_limit_client=0",
            "--set", "cluster.stale_after_s=" + std::to_string(kStaleAfterS)};
  }

  // The three instances; the first makes the admin key.
  void StartCluster() {
    for (const fs::path& dir : dirs_) {
      instances_.push_back(std::make_unique<ServerProcess>(ServerOptions{dir, ClusterArgs(), {}}));
      instances_.back()->Start();
    }
    admin_ = ReadFileToString(dirs_[0] / "data" / "security" / "admin.key");
    while (!admin_.empty() && (admin_.back() == '\n' || admin_.back() == '\r')) admin_.pop_back();
    ASSERT_FALSE(admin_.empty());
  }

  uint16_t Port(int i) const { return instances_[i]->port(); }

  // Polls `request` on `client` until `done` holds for its answer; the time
  // it first held, or nothing after `timeout`.
  static std::optional<Clock::time_point> Until(
      HttpClient& client, const std::function<HttpResult(HttpClient&)>& request,
      const std::function<bool(const HttpResult&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const HttpResult r = request(client);
      if (done(r)) return Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  // `chatbot cluster status` with the instances' store settings.
  ProcessResult ClusterStatus() {
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    options.args = {"cluster", "status"};
    for (const std::string& arg : ClusterArgs()) options.args.push_back(arg);
    options.args.insert(options.args.end(),
                        {"--set", "paths.logs=" + (work_.path() / "cli-logs").string()});
    options.working_directory = work_.path();
    options.timeout = std::chrono::seconds(60);
    return RunProcess(options);
  }

  // A client key made through the first instance (key_, key_id_), once the
  // other two serve it on `second` and `third`: keep-alive connections opened
  // and used before what the test changes next. The key reaches them by
  // notification.
  void MakeClientKey(HttpClient& second, HttpClient& third) {
    HttpClient first(Port(0));
    const HttpResult created = first.Post(
        "/v1/admin/keys", json::object{{"name", "shop"}, {"role", "client"}}, Bearer(admin_));
    ASSERT_EQ(created.status, 201) << created.Describe();
    key_ = std::string(created.Json().at("key").as_string());
    key_id_ = std::string(created.Json().at("id").as_string());
    for (HttpClient* client : {&second, &third}) {
      ASSERT_TRUE(Until(
          *client, [&](HttpClient& c) { return Parse(c, Bearer(key_)); },
          [](const HttpResult& r) { return r.status == 200; }, std::chrono::seconds(1)))
          << "the new key did not reach another instance within 1 s";
    }
  }

  static constexpr int kStaleAfterS = 3;
  TempDir work_{"chatbot-cluster-sync"};
  std::string url_;
  std::vector<fs::path> dirs_;
  std::string admin_;
  std::string key_, key_id_;
  // Declared after work_: the instances end before their directories go.
  std::vector<std::unique_ptr<ServerProcess>> instances_;
};

TEST_F(ClusterSyncTest, ARevokedKeyIsRefusedEverywhereWithinASecond) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  HttpClient first(Port(0)), second(Port(1)), third(Port(2));
  ASSERT_NO_FATAL_FAILURE(MakeClientKey(second, third));
  const auto parse_with_key = [&](HttpClient& c) { return Parse(c, Bearer(key_)); };
  const int opened_second = second.connections_opened();
  const int opened_third = third.connections_opened();

  const Clock::time_point asked = Clock::now();
  const HttpResult revoked =
      first.Post("/v1/admin/keys/" + key_id_ + "/revoke", json::object{}, Bearer(admin_));
  const Clock::time_point answered = Clock::now();
  ASSERT_EQ(revoked.status, 200) << revoked.Describe();
  const auto refused = [](const HttpResult& r) {
    return r.status == 401 && Code(r) == "key_revoked";
  };
  const auto at_second = Until(second, parse_with_key, refused, std::chrono::seconds(5));
  const auto at_third = Until(third, parse_with_key, refused, std::chrono::seconds(5));
  ASSERT_TRUE(at_second && at_third) << "the revoked key is still served";
  // From the revoke's request: the change commits before its answer.
  const double second_ms = MsSince(asked, *at_second);
  std::printf(
      "[ measured ] revocation -> refused: instance 2 after %.0f ms, instance 3 after "
      "%.0f ms (from the revoke's request; its answer came after %.0f ms)\n",
      second_ms, MsSince(asked, *at_third), MsSince(asked, answered));
  // Polled one after the other: the second's time bounds both.
  EXPECT_LT(second_ms, 1000);
  EXPECT_LT(MsSince(asked, *at_third), 1000 + MsSince(answered, *at_second));
  EXPECT_EQ(second.connections_opened(), opened_second) << "not on the same connection";
  EXPECT_EQ(third.connections_opened(), opened_third) << "not on the same connection";
}

TEST_F(ClusterSyncTest, ALockdownReachesEveryInstanceWithinASecond) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  HttpClient first(Port(0)), second(Port(1)), third(Port(2));
  ASSERT_NO_FATAL_FAILURE(MakeClientKey(second, third));
  const auto parse_with_key = [&](HttpClient& c) { return Parse(c, Bearer(key_)); };
  const int opened = second.connections_opened() + third.connections_opened();

  for (const bool on : {true, false}) {
    const Clock::time_point asked = Clock::now();
    const HttpResult switched = first.Post(
        "/v1/admin/lockdown", json::object{{"on", on}, {"reason", "drill"}}, Bearer(admin_));
    const Clock::time_point answered = Clock::now();
    ASSERT_EQ(switched.status, 200) << switched.Describe();
    const auto expected = [on](const HttpResult& r) {
      return on ? r.status == 503 && Code(r) == "lockdown" : r.status == 200;
    };
    const auto at_second = Until(second, parse_with_key, expected, std::chrono::seconds(5));
    const auto at_third = Until(third, parse_with_key, expected, std::chrono::seconds(5));
    ASSERT_TRUE(at_second && at_third) << "lockdown " << (on ? "on" : "off") << " did not arrive";
    const double second_ms = MsSince(asked, *at_second);
    std::printf(
        "[ measured ] lockdown %s -> in force: instance 2 after %.0f ms, instance 3 after "
        "%.0f ms (from the request; its answer came after %.0f ms)\n",
        on ? "on" : "off", second_ms, MsSince(asked, *at_third), MsSince(asked, answered));
    EXPECT_LT(second_ms, 1000);
    EXPECT_LT(MsSince(asked, *at_third), 1000 + MsSince(answered, *at_second));
  }
  EXPECT_EQ(second.connections_opened() + third.connections_opened(), opened)
      << "not on the same connections";
}

TEST_F(ClusterSyncTest, AModelReloadedOnOneInstanceIsServedByAllUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  HttpClient probe(Port(0));
  const HttpResult before = Parse(probe);
  ASSERT_EQ(before.status, 200) << before.Describe();
  const std::string old_version(before.Json().at("model_version").as_string());

  // A new model in the shared directory; nobody serves it until a reload.
  const ProcessResult trained = TrainDefaultModel(work_.path(), work_.path() / "model");
  ASSERT_EQ(trained.exit_code, 0) << trained.out << trained.err;

  // A steady load on every instance, each on its own keep-alive connection.
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0}, failures{0};
  std::mutex mu;
  std::string new_version, first_failure;
  std::vector<std::optional<Clock::time_point>> converged(3);
  std::vector<std::thread> load;
  for (int i = 0; i < 3; ++i) {
    load.emplace_back([&, i, port = Port(i)] {
      HttpClient client(port);
      while (!stop) {
        HttpResult r;
        try {
          r = Parse(client);
        } catch (const std::exception& e) {
          r.body = e.what();
        }
        ++requests;
        std::lock_guard lock(mu);
        if (r.status != 200) {
          if (failures++ == 0) first_failure = r.Describe();
          continue;
        }
        const std::string version(r.Json().at("model_version").as_string());
        if (version != old_version && !converged[i]) {
          converged[i] = Clock::now();
          if (new_version.empty()) new_version = version;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Clock::time_point asked = Clock::now();
  const HttpResult reloaded = probe.Post("/v1/model/reload", json::object{}, Bearer(admin_));
  const Clock::time_point answered = Clock::now();
  EXPECT_EQ(reloaded.status, 200) << reloaded.Describe();
  const auto deadline = answered + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (converged[0] && converged[1] && converged[2]) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The load goes on a little after the last instance switched.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (std::thread& t : load) t.join();

  ASSERT_TRUE(converged[0] && converged[1] && converged[2]) << "not every instance switched";
  EXPECT_NE(new_version, old_version);
  double slowest = 0;
  for (int i = 1; i < 3; ++i) slowest = std::max(slowest, MsSince(answered, *converged[i]));
  std::printf(
      "[ measured ] model reload -> served by all three: %.0f ms after the reload's "
      "answer (the reload itself took %.0f ms); %d requests meanwhile, %d failed\n",
      slowest, MsSince(asked, answered), requests.load(), failures.load());
  EXPECT_LT(slowest, 2000);
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(requests.load(), 30);

  // Every instance now reports the new version in /health and /metrics.
  for (int i = 0; i < 3; ++i) {
    HttpClient client(Port(i));
    const HttpResult health = client.Get("/health");
    EXPECT_EQ(health.Json().at("models").at("svm").at("version").as_string(), new_version);
    const HttpResult metrics = client.Get("/metrics", Bearer(admin_));
    EXPECT_NE(metrics.body.find("version=\"" + new_version + "\""), std::string::npos);
  }
}

TEST_F(ClusterSyncTest, ListsLiveInstancesAndThenTheGoneOne) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  HttpClient client(Port(1));
  const std::string version(Parse(client).Json().at("model_version").as_string());
  const HttpResult listed = client.Get("/v1/admin/cluster", Bearer(admin_));
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  const json::object body = listed.Json().as_object();
  EXPECT_EQ(body.at("backend").as_string(), "postgres");
  EXPECT_EQ(body.at("live").as_int64(), 3);
  EXPECT_EQ(body.at("serving_model").at("version").as_string(), version);
  std::set<std::string> addresses;
  int selves = 0;
  for (const json::value& v : body.at("instances").as_array()) {
    const json::object& instance = v.as_object();
    addresses.insert(std::string(instance.at("address").as_string()));
    EXPECT_EQ(instance.at("state").as_string(), "live");
    EXPECT_EQ(instance.at("model_version").as_string(), version);
    EXPECT_LT(instance.at("last_heartbeat_age_s").to_number<double>(), kStaleAfterS);
    EXPECT_GE(instance.at("uptime_s").to_number<double>(), 0);
    selves += instance.at("self").as_bool() ? 1 : 0;
  }
  EXPECT_EQ(selves, 1);
  std::set<std::string> expected;
  for (int i = 0; i < 3; ++i) expected.insert("127.0.0.1:" + std::to_string(Port(i)));
  EXPECT_EQ(addresses, expected);
  // Other roles may not see it.
  EXPECT_EQ(client.Get("/v1/admin/cluster").status, 403);

  ProcessResult status = ClusterStatus();
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  for (const std::string& address : expected) {
    EXPECT_NE(status.out.find(address), std::string::npos) << status.out;
  }
  EXPECT_NE(status.out.find("3 live, 0 gone"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(version), std::string::npos) << status.out;

  // Stopped cleanly: no longer listed. Killed: listed as gone once its
  // heartbeats are older than cluster.stale_after_s.
  ASSERT_EQ(instances_[2]->Terminate(), 0);
  instances_[0]->Kill();
  const auto deadline = Clock::now() + std::chrono::seconds(kStaleAfterS + 10);
  json::object after;
  while (Clock::now() < deadline) {
    after = client.Get("/v1/admin/cluster", Bearer(admin_)).Json().as_object();
    if (after.at("live").as_int64() == 1 && after.at("instances").as_array().size() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(after.at("instances").as_array().size(), 2u) << json::serialize(after);
  EXPECT_EQ(after.at("live").as_int64(), 1) << json::serialize(after);
  for (const json::value& v : after.at("instances").as_array()) {
    const std::string address(v.at("address").as_string());
    EXPECT_EQ(v.at("state").as_string(),
              address == "127.0.0.1:" + std::to_string(Port(1)) ? "live" : "gone");
  }
  status = ClusterStatus();
  EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
  EXPECT_NE(status.out.find("1 live, 1 gone"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace chatbot::testing
