// Crash loops against the real binary (docs/OPERATIONS.md, "Crashes"):
//   - `chatbot serve` on SQLite under a steady chat load, killed with
//     SIGKILL at random moments and restarted, cycle after cycle: after
//     every kill the session database passes PRAGMA integrity_check and
//     holds every turn a client saw acknowledged;
//   - `chatbot backup` killed half way: `latest` is always a complete
//     backup that verifies;
//   - `chatbot train` killed half way into the models folder a server is
//     serving: the served model's files and version are untouched.
// CHATBOT_CRASH_CYCLES sets the number of serve cycles (default 30, about
// 30 s on a loaded 2-core machine, where a start takes up to a second;
// bench/crash_loop.sh runs 500).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"
#include "session_fill.h"
#include "sqlite_check.h"
#include "store/sqlite_session_store.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class CrashLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << Describe(model.training);
    InstallSharedModel(work_.path());
  }

  std::unique_ptr<ServerProcess> StartServer() {
    auto server = std::make_unique<ServerProcess>(ServerOptions{work_.path(), {}, {}});
    server->Start();
    return server;
  }

  ProcessOptions Chatbot(std::vector<std::string> args) const {
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    args.insert(args.end(), {"--set", "paths.logs=" + (work_.path() / "logs").string()});
    options.args = std::move(args);
    options.working_directory = work_.path();
    options.timeout = std::chrono::seconds(120);
    return options;
  }

  // Runs `options` in the background and kills it after `delay`; true when
  // it was still running then.
  // Whether the process was killed; when it ended first, `*ran` (if given)
  // receives how long it ran.
  bool RunAndKill(const ProcessOptions& options, milliseconds delay, milliseconds* ran = nullptr) {
    const Clock::time_point start = Clock::now();
    const pid_t pid =
        StartBackgroundProcess(options, work_.path() / "killed.out", work_.path() / "killed.err");
    const Clock::time_point deadline = start + delay;
    int status = 0;
    while (Clock::now() < deadline) {
      if (BackgroundProcessEnded(pid, &status)) {
        if (ran != nullptr) *ran = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
        return false;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    KillBackgroundProcess(pid);
    return true;
  }

  fs::path SessionsDb() const { return work_.path() / "sessions.db"; }

  TempDir work_{"chatbot-crash"};
};

// The version of the SVM model the server answers with.
std::string ServedVersion(HttpClient& client) {
  const HttpResult health = client.Get("/health");
  if (health.status != 200) return "unavailable: " + health.Describe();
  return std::string(health.Json().at("models").at("svm").at("version").as_string());
}

struct Ack {
  std::string session;
  int64_t turn;
  std::string message;
};

TEST_F(CrashLoopTest, KilledServeLosesNoAcknowledgedTurnAndKeepsItsDatabaseIntact) {
  const char* env = std::getenv("CHATBOT_CRASH_CYCLES");
  const int cycles = env != nullptr ? std::atoi(env) : 30;
  constexpr int kClients = 3;
  std::mt19937 random(std::random_device{}());
  std::vector<std::string> sessions(kClients);  // each client keeps its session across crashes
  std::vector<Ack> all_acks;
  double start_ms_total = 0, start_ms_max = 0;
  int killed_mid_request = 0;
  const Clock::time_point loop_start = Clock::now();

  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    const Clock::time_point start = Clock::now();
    std::unique_ptr<ServerProcess> server = StartServer();
    const double start_ms = MsSince(start);
    start_ms_total += start_ms;
    start_ms_max = std::max(start_ms_max, start_ms);

    std::vector<std::vector<Ack>> acks(kClients);
    std::atomic<int> in_flight_at_kill{0};
    std::atomic<bool> killed{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        HttpClient client(server->port(), "127.0.0.1", std::chrono::seconds(10));
        for (int i = 0;; ++i) {
          const std::string message = "cycle " + std::to_string(cycle) + " client " +
                                      std::to_string(c) + " asks where order " + std::to_string(i) +
                                      " is";
          json::object body{{"message", message}};
          if (!sessions[c].empty()) body["session_id"] = sessions[c];
          try {
            const HttpResult r = client.Post("/v1/chat", body);
            if (r.status != 200) {
              ADD_FAILURE() << r.Describe();
              return;
            }
            const json::value answer = json::parse(r.body);
            sessions[c] = std::string(answer.at("session_id").as_string());
            acks[c].push_back({sessions[c], answer.at("turn").to_number<int64_t>(), message});
          } catch (const std::exception&) {
            if (killed) ++in_flight_at_kill;
            return;  // the server is gone
          }
        }
      });
    }
    // A random moment: early in a start-up's first requests up to well
    // into steady load.
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 250)(random)));
    killed = true;
    server->Kill();
    for (std::thread& t : clients) t.join();
    killed_mid_request += in_flight_at_kill;

    SqliteCheck db(SessionsDb());
    ASSERT_EQ(db.Integrity(), "ok") << "after cycle " << cycle;
    for (const std::vector<Ack>& client_acks : acks) {
      for (const Ack& ack : client_acks) {
        const auto rows =
            db.Query("SELECT user_text FROM turns WHERE session_id = ? AND number = " +
                         std::to_string(ack.turn),
                     ack.session);
        ASSERT_EQ(rows.size(), 1u) << "turn " << ack.turn << " of " << ack.session << " lost";
        ASSERT_EQ(rows[0][0], ack.message);
        all_acks.push_back(ack);
      }
    }
  }
  const double loop_s = MsSince(loop_start) / 1000;

  // Every turn acknowledged in any cycle is still there at the end.
  std::unique_ptr<ServerProcess> server = StartServer();
  HttpClient client(server->port());
  std::map<std::string, json::value> stored;
  for (const std::string& id : sessions) {
    if (id.empty()) continue;
    const HttpResult r = client.Get("/v1/sessions/" + id);
    ASSERT_EQ(r.status, 200) << r.Describe();
    stored[id] = r.Json();
  }
  size_t lost = 0;
  for (const Ack& ack : all_acks) {
    const json::array& turns = stored.at(ack.session).at("turns").as_array();
    if (ack.turn < 1 || static_cast<size_t>(ack.turn) > turns.size() ||
        turns[ack.turn - 1].at("message").as_string() != ack.message) {
      ++lost;
    }
  }
  EXPECT_EQ(lost, 0u);
  EXPECT_GT(all_acks.size(), static_cast<size_t>(cycles));
  std::printf(
      "crash loop: %d SIGKILL cycles in %.1f s; %zu turns acknowledged, %zu lost; %d requests "
      "in flight at a kill; start-up %.0f ms on average, %.0f ms at most\n",
      cycles, loop_s, all_acks.size(), lost, killed_mid_request, start_ms_total / cycles,
      start_ms_max);
}

// ---------------------------------------------------------------------------

TEST_F(CrashLoopTest, KilledBackupNeverBecomesLatest) {
  // Enough sessions that a backup takes a while.
  FillSessions(SessionsDb(), "bulk", 100, 50, std::string(4000, 'x'));
  const std::vector<std::string> backup = {"backup", "--dest", (work_.path() / "backups").string(),
                                           "--set", "sessions.path=" + SessionsDb().string()};
  ProcessResult first = RunProcess(Chatbot(backup));
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  milliseconds full(static_cast<int64_t>(first.seconds * 1000));
  std::vector<std::string> verify = {"backup", "verify", "latest", "--dest",
                                     (work_.path() / "backups").string()};

  int killed = 0;
  for (int i = 1; i <= 9; ++i) {
    SCOPED_TRACE("killed after " + std::to_string(i * 10) + "% of a backup's time");
    milliseconds ran{0};
    if (RunAndKill(Chatbot(backup), full * i / 10, &ran)) {
      ++killed;
    } else {
      // The machine is quicker now than when the first backup was timed (a
      // shared machine's load comes and goes): the next kills aim at this run.
      full = std::min(full, ran);
    }
    const ProcessResult r = RunProcess(Chatbot(verify));
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_GE(killed, 4) << "the backups ended before they could be killed (" << full.count()
                       << " ms each)";
  std::printf(
      "backup: %d of 9 killed half way (a full one takes %lld ms); latest verified each "
      "time\n",
      killed, static_cast<long long>(full.count()));
}

TEST_F(CrashLoopTest, KilledTrainingLeavesTheServedModelUntouched) {
  const auto files = [&] {
    std::map<std::string, std::string> contents;
    for (const auto& entry : fs::recursive_directory_iterator(work_.path() / "model" / "svm")) {
      if (entry.is_regular_file()) {
        contents[entry.path().lexically_relative(work_.path()).string()] =
            ReadFileToString(entry.path());
      }
    }
    return contents;
  };
  const auto before = files();
  std::unique_ptr<ServerProcess> server = StartServer();
  HttpClient client(server->port());
  const std::string version = ServedVersion(client);

  const ProcessOptions train = Chatbot({"train", "--data", DefaultDomainDir().string(), "--models",
                                        (work_.path() / "model").string()});
  const Clock::time_point start = Clock::now();
  // A training run of its own measures how long one takes (into a folder
  // nobody serves).
  ProcessOptions measure = train;
  measure.args[4] = (work_.path() / "measure").string();
  const ProcessResult measured = RunProcess(measure);
  ASSERT_EQ(measured.exit_code, 0) << Describe(measured);
  const milliseconds full(static_cast<int64_t>(MsSince(start)));

  // The version the model files on disk have.
  const auto version_on_disk = [&] {
    const json::value manifest =
        json::parse(ReadFileToString(work_.path() / "model" / "svm" / "manifest.json"));
    return std::string(manifest.at("version").as_string());
  };
  auto expected = before;
  bool replaced = false;
  int killed = 0;
  for (int i = 1; i <= 5; ++i) {
    SCOPED_TRACE("killed after " + std::to_string(i * 8) + "% of a training's time");
    if (!RunAndKill(train, full * i * 8 / 100)) {
      // It finished first (a loaded machine runs faster some times than
      // others): the new model legitimately replaced the old, whole.
      expected = files();
      replaced = true;
      continue;
    }
    ++killed;
    EXPECT_EQ(files(), expected) << "the model's files changed";
    if (!replaced) {
      EXPECT_EQ(ServedVersion(client), version);
    }
    EXPECT_EQ(client.Post("/v1/parse", json::object{{"text", "where is my order"}}).status, 200);
  }
  // On a loaded machine one run may take twice as long as the next.
  EXPECT_GE(killed, 2) << "training ended before it could be killed (" << full.count()
                       << " ms each)";
  // A restart loads the model on disk, intact.
  server->Terminate();
  server = StartServer();
  HttpClient again(server->port());
  EXPECT_EQ(ServedVersion(again), version_on_disk());
  std::printf("training: %d of 5 killed half way (a full one takes %lld ms); model untouched\n",
              killed, static_cast<long long>(full.count()));
}

}  // namespace
}  // namespace chatbot::testing
