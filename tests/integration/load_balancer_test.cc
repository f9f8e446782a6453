// The load balancer (deploy/nginx/chatbot.conf, docs/scaling.md): the real
// nginx, on the shipped configuration, in front of three real `chatbot
// serve` instances, all on loopback:
//   - requests are spread over all three, each answered by one instance
//     (the instances' api.log files hold the request ids between them);
//   - the request id: the client's comes back and reaches the answering
//     instance's api.log and nginx's log; nginx makes one when the client
//     sends none or an unsafe one, and answers its own errors (413, no
//     instance) in the API's JSON shape with the id;
//   - the instances trust nginx (trusted_proxies = 127.0.0.1/32) and see the
//     client's address, not nginx's: clients connect from 127.0.0.2 and
//     127.0.0.3, an allowlist of the instances tells them apart, and a
//     client's own X-Forwarded-For changes nothing;
//   - nginx reaches the instances through their Unix-domain sockets
//     (server.unix_socket), as the shipped upstreams file for one machine
//     does;
//   - an instance killed with SIGKILL: parse requests, new chats and GETs
//     keep succeeding through nginx (passive health check); restarted, it
//     replaces the socket file it left and is sent requests again;
//   - an instance stopped with SIGTERM and started again while a client
//     sends chats, parses and GETs without pause: not one fails.
// Each instance has its own SQLite sessions: sessions shared between
// instances are the PostgreSQL backend's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "free_port.h"
#include "http_client.h"
#include "nginx_server.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr int kInstances = 3;
const std::regex kNginxRequestId("[0-9a-f]{32}");

// The JSON lines of a log file that parse as objects (a line being written
// may be incomplete).
std::vector<json::object> JsonLines(const fs::path& path) {
  std::vector<json::object> lines;
  std::error_code missing;
  if (!fs::exists(path, missing)) return lines;
  for (const std::string& line : Lines(ReadFileToString(path))) {
    boost::system::error_code error;
    json::value value = json::parse(line, error);
    if (!error && value.is_object()) lines.push_back(std::move(value.as_object()));
  }
  return lines;
}

std::string Field(const json::object& line, const char* name) {
  const json::value* value = line.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

json::object ParseBody() {
  return json::object{{"text", "where is my order"}};
}

class LoadBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NginxProgram().empty()) {
      CHATBOT_SKIP("nginx is not installed (package nginx-light; scripts/setup.sh installs it)");
    }
    if (!SharedTrainedModel().ok) FAIL() << Describe(SharedTrainedModel().training);
  }

  // Three instances, trusting nginx, then nginx in front of them reaching
  // each through its Unix-domain socket, as the shipped upstreams file for
  // one machine does (each also has a free TCP port for the test's own
  // requests).
  void StartCluster(const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> sockets;
    for (int i = 0; i < kInstances; ++i) {
      ServerOptions options;
      options.dir = work_.path() / ("instance-" + std::to_string(i + 1));
      fs::create_directories(options.dir);
      InstallSharedModel(options.dir);
      options.port = FreeLoopbackPort();
      const std::string socket = (options.dir / "http.sock").string();
      options.extra_args = {"--set", "security.trusted_proxies=127.0.0.1/32",
                            "--set", "server.threads=1",
                            "--set", "server.unix_socket=" + socket};
      options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
      instances_.push_back(std::make_unique<ServerProcess>(options));
      instances_.back()->Start();
      sockets.push_back("unix:" + socket);
    }
    nginx_ = std::make_unique<NginxServer>(ShippedLoadBalancer(work_.path() / "nginx", sockets));
    nginx_->Start();
  }

  fs::path ApiLog(int instance) const {
    return instances_[instance]->options().dir / "logs" / "api.log";
  }

  // Which instance logged each of `ids` (-1: none), waiting up to 5 s for
  // the logs to be flushed (once a second); an id logged twice fails.
  std::map<std::string, int> WhereLogged(const std::vector<std::string>& ids) {
    std::map<std::string, int> where;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
    while (true) {
      where.clear();
      for (const std::string& id : ids) where[id] = -1;
      for (int i = 0; i < kInstances; ++i) {
        for (const json::object& line : JsonLines(ApiLog(i))) {
          const auto it = where.find(Field(line, "request_id"));
          if (it == where.end()) continue;
          EXPECT_EQ(it->second, -1) << it->first << " answered by two instances";
          it->second = i;
        }
      }
      bool all = true;
      for (const auto& [id, instance] : where) all = all && instance >= 0;
      if (all || Clock::now() >= deadline) return where;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // nginx's access log lines by request id, waiting up to 5 s for `id`.
  std::map<std::string, json::object> NginxLog(const std::string& id) {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
    while (true) {
      std::map<std::string, json::object> lines;
      for (json::object& line : JsonLines(nginx_->AccessLogPath())) {
        lines[Field(line, "request_id")] = std::move(line);
      }
      if (lines.count(id) != 0 || Clock::now() >= deadline) return lines;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  TempDir work_{"chatbot-lb"};
  std::vector<std::unique_ptr<ServerProcess>> instances_;
  std::unique_ptr<NginxServer> nginx_;
};

TEST_F(LoadBalancerTest, SpreadsRequestsOverEveryInstanceWithTheRequestId) {
  StartCluster();
  HttpClient client(nginx_->port());
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    const std::string id = "lb-test." + std::to_string(i);
    const HttpResult r = client.Post("/v1/parse", ParseBody(), {{"X-Request-ID", id}});
    ASSERT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.Json().at("intent").as_string(), "order_status");
    // One header, the client's id (two would be joined with ", ").
    EXPECT_EQ(r.Header("x-request-id"), id);
    ids.push_back(id);
  }
  // No id, or one that is not 1-128 of [A-Za-z0-9._:-]: nginx's own.
  for (const HttpHeaders& headers : {HttpHeaders{}, HttpHeaders{{"X-Request-ID", "two words"}},
                                     HttpHeaders{{"X-Request-ID", std::string(129, 'a')}}}) {
    const HttpResult r = client.Post("/v1/parse", ParseBody(), headers);
    ASSERT_EQ(r.status, 200) << r.Describe();
    const std::string id = r.Header("x-request-id");
    EXPECT_TRUE(std::regex_match(id, kNginxRequestId)) << r.Describe();
    ids.push_back(id);
  }

  const std::map<std::string, int> where = WhereLogged(ids);
  std::vector<int> answered(kInstances, 0);
  for (const auto& [id, instance] : where) {
    ASSERT_GE(instance, 0) << id << " is in no instance's api.log";
    ++answered[instance];
  }
  // Round robin: a third each; every instance a fair share at least.
  for (int i = 0; i < kInstances; ++i) {
    EXPECT_GE(answered[i], static_cast<int>(ids.size()) / kInstances / 2) << "instance " << i + 1;
  }

  // nginx logs the same id, with the instance that answered.
  const auto nginx_log = NginxLog(ids.front());
  ASSERT_TRUE(nginx_log.count(ids.front())) << ReadFileToString(nginx_->AccessLogPath());
  const json::object& line = nginx_log.at(ids.front());
  EXPECT_EQ(Field(line, "upstream"),
            "unix:" + (instances_[where.at(ids.front())]->options().dir / "http.sock").string());
  EXPECT_EQ(Field(line, "path"), "/v1/parse");
  EXPECT_EQ(line.at("status").to_number<int>(), 200);

  // nginx's own answer to an oversized body, before it reaches an instance:
  // the API's 413, with a request id.
  const HttpResult big = client.Post("/v1/parse", json::object{{"text", std::string(70000, 'a')}});
  EXPECT_EQ(big.status, 413) << big.Describe();
  EXPECT_EQ(big.Json().at("error").at("code").as_string(), "payload_too_large");
  EXPECT_TRUE(std::regex_match(big.Header("x-request-id"), kNginxRequestId)) << big.Describe();
}

TEST_F(LoadBalancerTest, InstancesSeeTheClientNotNginx) {
  // Only 127.0.0.2 is allowed. Without X-Forwarded-For every request would
  // come from nginx (127.0.0.1) and be refused.
  StartCluster({"--set", "security.allow=127.0.0.2/32"});
  HttpClient allowed(nginx_->port());
  allowed.SetSourceAddress("127.0.0.2");
  HttpClient other(nginx_->port());
  other.SetSourceAddress("127.0.0.3");
  std::vector<std::string> ids;
  std::map<std::string, std::string> client_of;
  for (int i = 0; i < 2 * kInstances; ++i) {
    const std::string a = "allowed-" + std::to_string(i);
    HttpResult r = allowed.Post("/v1/parse", ParseBody(), {{"X-Request-ID", a}});
    EXPECT_EQ(r.status, 200) << r.Describe();
    // Refused, also when it claims to be 127.0.0.2: nginx appends the
    // address it sees, and the instances read the header from the right.
    const std::string o = "other-" + std::to_string(i);
    r = other.Post("/v1/parse", ParseBody(),
                   {{"X-Request-ID", o}, {"X-Forwarded-For", "127.0.0.2"}});
    EXPECT_EQ(r.status, 403) << r.Describe();
    EXPECT_EQ(r.Json().at("error").at("code").as_string(), "address_not_allowed");
    ids.insert(ids.end(), {a, o});
    client_of[a] = "127.0.0.2";
    client_of[o] = "127.0.0.3";
  }
  // Every instance answered some (the allowlist is each instance's own).
  std::set<int> instances;
  for (const auto& [id, instance] : WhereLogged(ids)) {
    ASSERT_GE(instance, 0) << id;
    instances.insert(instance);
  }
  EXPECT_EQ(instances.size(), static_cast<size_t>(kInstances));
  // api.log names the TCP peer, nginx; nginx's log names the client under
  // the same request id.
  const auto nginx_log = NginxLog(ids.back());
  for (const std::string& id : ids) {
    ASSERT_TRUE(nginx_log.count(id)) << id;
    EXPECT_EQ(Field(nginx_log.at(id), "client"), client_of[id]) << id;
  }
}

TEST_F(LoadBalancerTest, AKilledInstanceIsPassedOverAndServesAgainWhenRestarted) {
  StartCluster();
  HttpClient client(nginx_->port());
  // nginx holds a keep-alive connection to every instance.
  for (int i = 0; i < 2 * kInstances; ++i) {
    ASSERT_EQ(client.Post("/v1/parse", ParseBody()).status, 200);
  }
  ServerProcess& victim = *instances_[1];
  victim.Kill();  // SIGKILL

  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    const std::string id = "after-kill-" + std::to_string(i);
    const HttpResult r = client.Post("/v1/parse", ParseBody(), {{"X-Request-ID", id}});
    EXPECT_EQ(r.status, 200) << r.Describe();
    ids.push_back(id);
  }
  // A POST that reached no instance (its connection was refused) is passed
  // on too: a new chat is not lost.
  for (int i = 0; i < kInstances; ++i) {
    const HttpResult chat = client.Post("/v1/chat", json::object{{"message", "hello"}});
    EXPECT_EQ(chat.status, 200) << chat.Describe();
    const HttpResult bot = client.Get("/v1/bot");
    EXPECT_EQ(bot.status, 200) << bot.Describe();
  }
  for (const auto& [id, instance] : WhereLogged(ids)) {
    EXPECT_TRUE(instance == 0 || instance == 2) << id << ": " << instance;
  }

  // Restarted (its socket file, left behind by SIGKILL, is replaced): once
  // fail_timeout (5 s) has passed, nginx tries it again and it takes its
  // share.
  victim.Start();
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  bool rejoined = false;
  for (int i = 0; !rejoined && Clock::now() < deadline; ++i) {
    const std::string id = "rejoin-" + std::to_string(i);
    const HttpResult r = client.Post("/v1/parse", ParseBody(), {{"X-Request-ID", id}});
    EXPECT_EQ(r.status, 200) << r.Describe();
    for (const json::object& line : JsonLines(ApiLog(1))) {
      rejoined = rejoined || Field(line, "request_id").starts_with("rejoin-");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(rejoined) << "the restarted instance got no request within 20 s\n"
                        << nginx_->ErrorLog();
}

TEST_F(LoadBalancerTest, AnInstanceRestartedGracefullyCostsNoRequest) {
  StartCluster();
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::string> failures;
  std::thread client_thread([&] {
    HttpClient client(nginx_->port());
    for (int i = 0; !stop.load(); ++i) {
      try {
        const HttpResult r = i % 3 == 0   ? client.Post("/v1/chat", json::object{{"message", "hi"}})
                             : i % 3 == 1 ? client.Post("/v1/parse", ParseBody())
                                          : client.Get("/v1/bot");
        if (r.status != 200) failures.push_back(r.Describe());
      } catch (const std::exception& e) {
        failures.push_back(e.what());
      }
      ++sent;
    }
  });
  const auto wait_for_requests = [&](int n) {
    const int target = sent.load() + n;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
    while (sent.load() < target && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_for_requests(50);
  ServerProcess& instance = *instances_[1];
  EXPECT_EQ(instance.Terminate(), 0) << instance.Describe();
  wait_for_requests(50);
  instance.Start();
  // Back in the rotation once fail_timeout has passed, if nginx had marked
  // it down at all.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  const size_t logged_before = JsonLines(ApiLog(1)).size();
  while (JsonLines(ApiLog(1)).size() <= logged_before + 10 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  stop = true;
  client_thread.join();
  EXPECT_GT(JsonLines(ApiLog(1)).size(), logged_before + 10) << "the instance got no requests";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << sent.load() << " failed; first:\n"
                                << failures.front();
}

}  // namespace
}  // namespace chatbot::testing
