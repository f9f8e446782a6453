// GET /metrics of the real service: the Prometheus text format (checked by
// promtool where installed), the figures the requests made it record, the
// roles that may read it; and a real Prometheus, started on loopback with
// the shipped deploy/prometheus/prometheus.yml pointed at the service and
// the shipped alert rules loaded, that scrapes it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "free_port.h"
#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"
#include "store/sqlite_session_store.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

const fs::path kSourceDir = CHATBOT_SOURCE_DIR;

// `name` found in PATH (or a standard place), or empty.
fs::path FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/bin:/usr/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = path.find(':', start);
    const fs::path candidate = fs::path(path.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

// Samples of a text exposition: "name{labels}" -> value.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  for (const std::string& line : Lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SharedModel& shared = SharedTrainedModel();
    ASSERT_TRUE(shared.ok) << Describe(shared.training);
    InstallSharedModel(work_.path());
    ServerOptions options;
    options.dir = work_.path();
    server_ = std::make_unique<ServerProcess>(options);
    server_->Start();
  }

  HttpHeaders Auth() const {
    std::string key = ReadFileToString(work_.path() / "data" / "security" / "admin.key");
    while (!key.empty() && key.back() == '\n') key.pop_back();
    return {{"Authorization", "Bearer " + key}};
  }

  TempDir work_{"chatbot-metrics"};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(MetricsTest, ExposesRequestsPredictionsSessionsAndTheProcess) {
  HttpClient client(server_->port());
  const HttpHeaders auth = Auth();
  for (const char* text : {"where is my order", "hello", "what is the meaning of life"}) {
    ASSERT_EQ(client.Post("/v1/parse", json::object{{"text", text}}, auth).status, 200);
  }
  HttpResult chat = client.Post("/v1/chat", json::object{{"message", "hi"}}, auth);
  ASSERT_EQ(chat.status, 200) << chat.Describe();
  const std::string session(chat.Json().at("session_id").as_string());
  ASSERT_EQ(
      client.Post("/v1/chat", json::object{{"message", "thanks"}, {"session_id", session}}, auth)
          .status,
      200);
  ASSERT_EQ(client.Post("/v1/chat", json::object{{"message", "where is my parcel"}}, auth).status,
            200);
  ASSERT_EQ(client.Post("/v1/parse/batch", json::object{{"texts", {"a", "b", "c"}}}, auth).status,
            200);
  EXPECT_EQ(client.Get("/nowhere", auth).status, 404);
  EXPECT_EQ(client.Send("POST", "/v1/parse", "{not json", auth).status, 400);

  const HttpResult metrics = client.Get("/metrics", auth);
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::map<std::string, double> s = ParseSamples(metrics.body);
  const auto value = [&s](const std::string& name) {
    const auto it = s.find(name);
    return it == s.end() ? -1.0 : it->second;
  };
  EXPECT_EQ(value("chatbot_http_requests_total{route=\"/v1/parse\",status=\"200\"}"), 3);
  EXPECT_EQ(value("chatbot_http_requests_total{route=\"/v1/parse\",status=\"400\"}"), 1);
  EXPECT_EQ(value("chatbot_http_requests_total{route=\"/v1/chat\",status=\"200\"}"), 3);
  EXPECT_EQ(value("chatbot_http_requests_total{route=\"/v1/parse/batch\",status=\"200\"}"), 1);
  EXPECT_EQ(value("chatbot_http_requests_total{route=\"other\",status=\"404\"}"), 1);
  EXPECT_EQ(value("chatbot_http_request_duration_seconds_count{route=\"/v1/parse\"}"), 4);
  EXPECT_EQ(value("chatbot_http_request_duration_seconds_bucket{route=\"/v1/parse\",le=\"+Inf\"}"),
            4);
  EXPECT_EQ(value("chatbot_http_requests_in_flight"), 1);  // this scrape
  EXPECT_EQ(value("chatbot_predictions_total{model=\"svm\",endpoint=\"parse\"}"), 3);
  EXPECT_EQ(value("chatbot_predictions_total{model=\"svm\",endpoint=\"chat\"}"), 3);
  EXPECT_EQ(value("chatbot_predictions_total{model=\"svm\",endpoint=\"batch\"}"), 3);
  EXPECT_EQ(value("chatbot_prediction_duration_seconds_count{model=\"svm\"}"), 9);
  double intents = 0;
  for (const auto& [name, v] : s) {
    if (name.starts_with("chatbot_intent_predictions_total{model=\"svm\",")) intents += v;
  }
  EXPECT_EQ(intents, 9);
  EXPECT_GE(value("chatbot_out_of_scope_predictions_total{model=\"svm\"}"), 1);
  double replies = 0;
  for (const char* kind : {"answer", "clarification", "fallback"}) {
    replies +=
        std::max(0.0, value("chatbot_chat_replies_total{kind=\"" + std::string(kind) + "\"}"));
  }
  EXPECT_EQ(replies, 3);
  EXPECT_EQ(value("chatbot_batch_size_count{model=\"svm\",kind=\"request\"}"), 1);
  EXPECT_EQ(value("chatbot_batch_size_sum{model=\"svm\",kind=\"request\"}"), 3);
  EXPECT_EQ(value("chatbot_sessions_stored"), 2);
  EXPECT_EQ(value("chatbot_model_loaded"), 1);
  EXPECT_EQ(value("chatbot_http_open_connections"), 1);
  EXPECT_GT(value("process_cpu_seconds_total"), 0);
  EXPECT_GT(value("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(value("process_open_fds"), 3);
  EXPECT_GE(value("chatbot_host_cpu_cores"), 1);
  EXPECT_GT(value("chatbot_memory_limit_bytes"), 0);
  EXPECT_THAT(metrics.body,
              HasSubstr("chatbot_build_info{version=\"" CHATBOT_PROJECT_VERSION "\"} 1"));
  EXPECT_THAT(metrics.body, HasSubstr("chatbot_model_info{model=\"svm\",version=\""));
  if (FindProgram("nvidia-smi").empty()) {
    EXPECT_THAT(metrics.body, Not(HasSubstr("chatbot_gpu_")));
  } else {
    EXPECT_THAT(metrics.body, HasSubstr("chatbot_gpu_memory_used_bytes{gpu=\"0\""));
  }

  // The format, by Prometheus' own linter where it is installed.
  const fs::path promtool = FindProgram("promtool");
  if (promtool.empty() && test_support::SkipsAreFailures()) {
    ADD_FAILURE() << "promtool is not installed (package prometheus), and CI=true needs it";
  }
  if (!promtool.empty()) {
    ProcessOptions lint;
    lint.program = promtool;
    lint.args = {"check", "metrics"};
    lint.stdin_data = metrics.body;
    const ProcessResult r = RunProcess(lint);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
  }

  // Deleting a session moves the gauge; the scrape itself is counted.
  EXPECT_EQ(client.Send("DELETE", "/v1/sessions/" + session, "", auth).status, 200);
  const std::map<std::string, double> after = ParseSamples(client.Get("/metrics", auth).body);
  EXPECT_EQ(after.at("chatbot_sessions_stored"), 1);
  EXPECT_EQ(after.at("chatbot_sessions_deleted_total{reason=\"api\"}"), 1);
  EXPECT_EQ(after.at("chatbot_http_requests_total{route=\"/metrics\",status=\"200\"}"), 1);
}

TEST_F(MetricsTest, CountsTheBytesOfARequestAndItsResponseByEndpointClass) {
  HttpClient client(server_->port());
  const HttpHeaders auth = Auth();
  const auto scrape = [&] {
    const HttpResult r = client.Get("/metrics", auth);
    EXPECT_EQ(r.status, 200) << r.Describe();
    return ParseSamples(r.body);
  };
  const auto bytes = [](const std::map<std::string, double>& s, const std::string& direction,
                        const std::string& endpoint_class) {
    const auto it =
        s.find("chatbot_http_" + direction + "_bytes_total{class=\"" + endpoint_class + "\"}");
    return it == s.end() ? -1.0 : it->second;
  };
  const std::map<std::string, double> before = scrape();
  // Every class is there from the start.
  for (const char* c :
       {"chat", "parse", "sessions", "admin", "health", "metrics", "static", "other"}) {
    EXPECT_GE(bytes(before, "received", c), 0) << c;
    EXPECT_GE(bytes(before, "sent", c), 0) << c;
  }

  // One request of a known size on a connection of its own; everything the
  // server writes on it is the response.
  const std::string body = R"({"text": "where is my order"})";
  const std::string request =
      "POST /v1/parse HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth[0].first + ": " + auth[0].second +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  const RawResult response = client.SendRaw(request, std::chrono::seconds(10));
  ASSERT_TRUE(response.closed);
  ASSERT_THAT(response.data, HasSubstr("HTTP/1.1 200"));

  const std::map<std::string, double> after = scrape();
  EXPECT_EQ(bytes(after, "received", "parse") - bytes(before, "received", "parse"),
            static_cast<double>(request.size()));
  EXPECT_EQ(bytes(after, "sent", "parse") - bytes(before, "sent", "parse"),
            static_cast<double>(response.data.size()));
  // Nothing else moved but the scrape's own class.
  EXPECT_EQ(bytes(after, "received", "chat"), bytes(before, "received", "chat"));
  EXPECT_EQ(bytes(after, "sent", "chat"), bytes(before, "sent", "chat"));
  EXPECT_GT(bytes(after, "sent", "metrics"), bytes(before, "sent", "metrics"));
}

TEST_F(MetricsTest, OnlyOperatorsReadIt) {
  HttpClient client(server_->port());
  EXPECT_EQ(client.Get("/metrics").status, 403);
  EXPECT_EQ(client.Get("/metrics", {{"Authorization", "Bearer cbk_0000000000000000_nope"}}).status,
            401);
  EXPECT_EQ(client.Send("POST", "/metrics", "", Auth()).status, 405);
  EXPECT_EQ(client.Get("/metrics", Auth()).status, 200);
}

TEST_F(MetricsTest, RendersQuickly) {
  HttpClient client(server_->port());
  const HttpHeaders auth = Auth();
  for (int i = 0; i < 50; ++i) {
    client.Post("/v1/parse", json::object{{"text", "message " + std::to_string(i)}}, auth);
  }
  std::vector<double> ms;
  for (int i = 0; i < 100; ++i) {
    const auto start = Clock::now();
    ASSERT_EQ(client.Get("/metrics", auth).status, 200);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("GET /metrics, client side: median %.3f ms, p90 %.3f ms\n", ms[50], ms[90]);
  // Loose: a debug build on a loaded machine; the release figure is in
  // docs/OPERATIONS.md.
  EXPECT_LT(ms[50], 50);
}

// The service applies sessions.retention_days at start (and every
// sessions.retention_interval_minutes), and says so in /metrics.
TEST(MetricsRetentionTest, RetentionAtStartIsAppliedAndCounted) {
  const SharedModel& shared = SharedTrainedModel();
  ASSERT_TRUE(shared.ok) << Describe(shared.training);
  TempDir work("chatbot-retention");
  InstallSharedModel(work.path());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  {
    auto store = store::SqliteSessionStore::Open(work.path() / "sessions.db", false);
    store->CreateSession("old-1", now - 3 * 86400000LL);
    store->CreateSession("old-2", now - 2 * 86400000LL);
    store->CreateSession("recent", now - 3600000LL);
  }
  ServerOptions options;
  options.dir = work.path();
  options.extra_args = {"--set", "sessions.retention_days=1"};
  ServerProcess server(options);
  server.Start();
  std::string key = ReadFileToString(work.path() / "data" / "security" / "admin.key");
  while (!key.empty() && key.back() == '\n') key.pop_back();
  HttpClient client(server.port());
  const std::map<std::string, double> s =
      ParseSamples(client.Get("/metrics", {{"Authorization", "Bearer " + key}}).body);
  EXPECT_EQ(s.at("chatbot_sessions_deleted_total{reason=\"retention\"}"), 2);
  EXPECT_EQ(s.at("chatbot_sessions_stored"), 1);
}

// A child process killed (with its process group) on destruction.
class Background {
 public:
  Background(const fs::path& program, const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv = {program.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (std::string& a : argv) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* out = std::fopen(log.c_str(), "w");
      if (out != nullptr) {
        ::dup2(fileno(out), STDOUT_FILENO);
        ::dup2(fileno(out), STDERR_FILENO);
      }
      ::execv(pointers[0], pointers.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  bool running() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

 private:
  pid_t pid_ = -1;
};

TEST_F(MetricsTest, ARealPrometheusScrapesTheServiceWithTheShippedConfiguration) {
  const fs::path prometheus = FindProgram("prometheus");
  if (prometheus.empty()) {
    CHATBOT_SKIP("prometheus is not installed (scripts/setup.sh)");
  }

  // deploy/prometheus/prometheus.yml, pointed at this service and key, on a
  // one-second interval.
  YAML::Node config = YAML::LoadFile((kSourceDir / "deploy/prometheus/prometheus.yml").string());
  config["global"]["scrape_interval"] = "1s";
  config["global"]["evaluation_interval"] = "1s";
  config["rule_files"][0] = (kSourceDir / "deploy/prometheus/alerts.yml").string();
  YAML::Node job = config["scrape_configs"][0];
  ASSERT_EQ(job["job_name"].as<std::string>(), "chatbot");
  ASSERT_EQ(job["metrics_path"].as<std::string>(), "/metrics");
  job["scrape_interval"] = "1s";
  job["scrape_timeout"] = "1s";
  job["authorization"]["credentials_file"] =
      (work_.path() / "data" / "security" / "admin.key").string();
  job["static_configs"][0]["targets"][0] = "127.0.0.1:" + std::to_string(server_->port());
  const fs::path config_file = work_.path() / "prometheus.yml";
  std::ofstream(config_file) << YAML::Dump(config) << "\n";

  const uint16_t port = FreeLoopbackPort();
  const fs::path log = work_.path() / "prometheus.log";
  Background process(prometheus,
                     {"--config.file=" + config_file.string(),
                      "--storage.tsdb.path=" + (work_.path() / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                     log);
  const auto logs = [&log] { return ReadFileToString(log); };

  // Until its API answers and the target is up.
  HttpClient api(port, "127.0.0.1", std::chrono::seconds(5));
  std::string health;
  json::value targets;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && health != "up") {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    ASSERT_TRUE(process.running()) << logs();
    try {
      const HttpResult r = api.Get("/api/v1/targets");
      if (r.status != 200) continue;
      targets = r.Json();
      const json::array& active = targets.at("data").at("activeTargets").as_array();
      if (!active.empty()) health = std::string(active[0].at("health").as_string());
    } catch (const std::exception&) {
      api.Close();  // not listening yet
    }
  }
  ASSERT_EQ(health, "up") << json::serialize(targets) << "\n" << logs();
  const json::object& target = targets.at("data").at("activeTargets").as_array()[0].as_object();
  EXPECT_EQ(target.at("labels").at("job").as_string(), "chatbot");
  EXPECT_EQ(target.at("lastError").as_string(), "");

  // What it scraped can be queried.
  HttpResult r = api.Get("/api/v1/query?query=up%7Bjob%3D%22chatbot%22%7D");
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_EQ(r.Json().at("data").at("result").as_array().size(), 1u) << r.body;
  EXPECT_EQ(r.Json().at("data").at("result").as_array()[0].at("value").as_array()[1].as_string(),
            "1");
  r = api.Get("/api/v1/query?query=process_resident_memory_bytes");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json().at("data").at("result").as_array().size(), 1u) << r.body;

  // The shipped alert rules loaded and evaluate without errors (once each
  // has been evaluated: "unknown" before).
  json::value rules_answer;
  for (const auto until = Clock::now() + std::chrono::seconds(20); Clock::now() < until;) {
    r = api.Get("/api/v1/rules");
    ASSERT_EQ(r.status, 200);
    rules_answer = r.Json();
    bool evaluated = true;
    for (const json::value& group : rules_answer.at("data").at("groups").as_array()) {
      for (const json::value& rule : group.at("rules").as_array()) {
        if (rule.at("health").as_string() == "unknown") evaluated = false;
      }
    }
    if (evaluated) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const json::array& groups = rules_answer.at("data").at("groups").as_array();
  ASSERT_EQ(groups.size(), 1u) << r.body;
  const json::array& rules = groups[0].at("rules").as_array();
  std::vector<std::string> names;
  for (const json::value& rule : rules) {
    names.emplace_back(rule.at("name").as_string());
    EXPECT_EQ(rule.at("health").as_string(), "ok") << json::serialize(rule);
  }
  for (const char* alert : {"ChatbotDown", "ChatbotHighLatency", "ChatbotHighErrorRate",
                            "ChatbotHighCpu", "ChatbotHighMemory"}) {
    EXPECT_THAT(names, ::testing::Contains(alert));
  }
}

}  // namespace
}  // namespace chatbot::testing
