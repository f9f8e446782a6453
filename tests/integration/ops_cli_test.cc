// The operator's commands against the real binary and a real `chatbot
// serve`: check-model (folders and --url), verify-model, backup while the
// service answers chats, backup list/verify/prune, restore (refused while
// the service runs, --stop-server, all or nothing, a damaged backup
// refused), the round trip "delete the data, restore, find every session,
// key and model as before", and `sessions clean --no-vacuum`.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
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
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kBinary = CHATBOT_BINARY;
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string Sha256Of(const fs::path& path) {
  ProcessOptions options;
  options.program = "/usr/bin/sha256sum";
  options.args = {path.string()};
  const ProcessResult r = RunProcess(options);
  return r.out.substr(0, 64);
}

// Rows of every table of an SQLite database, as text (the same content may
// be laid out in different pages).
std::string DumpDatabase(const fs::path& path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "(cannot open)";
  }
  std::vector<std::string> tables;
  sqlite3_exec(
      db, "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name",
      [](void* t, int, char** values, char**) {
        static_cast<std::vector<std::string>*>(t)->push_back(values[0]);
        return 0;
      },
      &tables, nullptr);
  for (const std::string& table : tables) {
    out += "[" + table + "]\n";
    sqlite3_exec(
        db, ("SELECT * FROM \"" + table + "\" ORDER BY 1, 2").c_str(),
        [](void* text, int columns, char** values, char**) {
          for (int i = 0; i < columns; ++i) {
            *static_cast<std::string*>(text) += (values[i] ? values[i] : "NULL");
            *static_cast<std::string*>(text) += '|';
          }
          *static_cast<std::string*>(text) += '\n';
          return 0;
        },
        &out, nullptr);
  }
  sqlite3_close(db);
  return out;
}

class OpsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SharedModel& shared = SharedTrainedModel();
    ASSERT_TRUE(shared.ok) << Describe(shared.training);
    InstallSharedModel(work_.path());
  }

  // `chatbot ARGS` in the work folder, configured as the server is.
  ProcessResult Chatbot(std::vector<std::string> args,
                        std::chrono::seconds timeout = std::chrono::seconds(120)) {
    for (const std::string& a :
         {std::string("--set"), "sessions.path=" + Sessions().string(), std::string("--set"),
          "paths.logs=" + (work_.path() / "logs").string(), std::string("--models"),
          (work_.path() / "model").string()}) {
      args.push_back(a);
    }
    ProcessOptions options;
    options.program = kBinary;
    options.args = args;
    options.working_directory = work_.path();
    options.timeout = timeout;
    return RunProcess(options);
  }

  std::unique_ptr<ServerProcess> StartServer() {
    ServerOptions options;
    options.dir = work_.path();
    auto server = std::make_unique<ServerProcess>(options);
    server->Start();
    return server;
  }

  std::string AdminKey() const {
    std::string key = ReadFileToString(work_.path() / "data" / "security" / "admin.key");
    while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
    return key;
  }
  HttpHeaders Auth() const { return {{"Authorization", "Bearer " + AdminKey()}}; }

  fs::path Sessions() const { return work_.path() / "sessions.db"; }
  fs::path Backups() const { return work_.path() / "backups"; }

  // Sessions with turns, made through the API.
  void Chat(uint16_t port, int sessions, int turns) {
    HttpClient client(port);
    for (int s = 0; s < sessions; ++s) {
      std::string id;
      for (int t = 0; t < turns; ++t) {
        json::object body{{"message", t % 2 ? "where is my order" : "can I pay with paypal"}};
        if (!id.empty()) body["session_id"] = id;
        const HttpResult r = client.Post("/v1/chat", body, Auth());
        ASSERT_EQ(r.status, 200) << r.Describe();
        id = std::string(r.Json().at("session_id").as_string());
      }
    }
  }

  // Everything a restore must bring back.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> s;
    const ProcessResult sessions = Chatbot({"sessions", "export"});
    EXPECT_EQ(sessions.exit_code, kExitOk) << Describe(sessions);
    s["sessions"] = sessions.out;
    s["keys"] = DumpDatabase(work_.path() / "data" / "security" / "keys.db");
    s["admin.key"] = AdminKey();
    for (const auto& e : fs::directory_iterator(work_.path() / "model" / "svm")) {
      s["model/svm/" + e.path().filename().string()] = Sha256Of(e.path());
    }
    return s;
  }

  TempDir work_{"chatbot-ops"};
};

TEST_F(OpsCliTest, CheckModelReportsThePresentModelsAndIsHealthy) {
  ProcessResult r = Chatbot({"check-model", "--samples", "50"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out,
              HasSubstr("model svm (" + (work_.path() / "model" / "svm").string() + "): healthy"));
  EXPECT_THAT(r.out, HasSubstr("format chatbot-svm v1, version "));
  EXPECT_THAT(r.out, HasSubstr("sizes and checksums as in the manifest"));
  EXPECT_THAT(r.out, HasSubstr("labels: 37 ("));
  EXPECT_THAT(r.out, HasSubstr("held-out: accuracy "));
  EXPECT_THAT(r.out, HasSubstr("latency over 50 predictions: p50 "));
  EXPECT_THAT(r.out, HasSubstr("model bert (" + (work_.path() / "model" / "bert").string() +
                               "): not present"));
  EXPECT_THAT(r.out, HasSubstr("healthy: 1 model loadable"));

  r = Chatbot({"check-model", "--json", "--samples", "10"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json::object report = json::parse(r.out).as_object();
  EXPECT_TRUE(report.at("healthy").as_bool());
  const json::array& models = report.at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("name").as_string(), "svm");
  EXPECT_TRUE(models[0].at("loaded").as_bool());
  EXPECT_EQ(models[0].at("labels").as_array().size(), 37u);
  EXPECT_EQ(models[0].at("latency_us").at("samples").as_int64(), 10);
  EXPECT_FALSE(models[1].at("present").as_bool());

  // Only one model, by name; a model that is not there is unhealthy.
  r = Chatbot({"check-model", "--model", "bert"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("UNHEALTHY: no model"));
}

TEST_F(OpsCliTest, CheckModelFailsWithoutAModelOrWithADamagedOne) {
  const fs::path bin = work_.path() / "model" / "svm" / "model.bin";
  std::string contents = ReadFileToString(bin);
  contents[contents.size() / 3] ^= 0x20;
  WriteStringToFile(bin, contents);
  ProcessResult r = Chatbot({"check-model"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("NOT LOADABLE"));
  EXPECT_THAT(r.out, HasSubstr("model.bin: checksum differs from the manifest"));
  EXPECT_THAT(r.out, HasSubstr("UNHEALTHY: 1 of 1 present models do not load"));

  fs::remove_all(work_.path() / "model");
  r = Chatbot({"check-model"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("UNHEALTHY: no model in"));
}

TEST_F(OpsCliTest, VerifyModelPassesAsTrainedAndNamesEveryDifference) {
  ProcessResult r = Chatbot({"verify-model"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("verify svm ("));
  EXPECT_THAT(r.out, HasSubstr("): OK\n"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(smoke test: (\d+) of (\d+) stored)")));
  EXPECT_EQ(m[1], m[2]);
  EXPECT_THAT(r.out, HasSubstr("verify bert ("));
  EXPECT_THAT(r.out, HasSubstr("verify-model: OK, 1 model as saved"));

  // A smoke example that the model now predicts differently (the file and
  // the manifest agree, so only the behaviour differs).
  const fs::path dir = work_.path() / "model" / "svm";
  std::string smoke = ReadFileToString(dir / "smoke.jsonl");
  const size_t newline = smoke.find('\n');
  json::object first = json::parse(smoke.substr(0, newline)).as_object();
  const std::string real(first["predicted"].as_string());
  first["predicted"] = real == "greeting" ? "goodbye" : "greeting";
  smoke = json::serialize(first) + smoke.substr(newline);
  WriteStringToFile(dir / "smoke.jsonl", smoke);
  json::object manifest = json::parse(ReadFileToString(dir / "manifest.json")).as_object();
  manifest["files"].as_object()["smoke.jsonl"] = {{"sha256", Sha256Of(dir / "smoke.jsonl")},
                                                  {"bytes", smoke.size()}};
  WriteStringToFile(dir / "manifest.json", json::serialize(manifest));
  r = Chatbot({"verify-model"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("): FAILED"));
  EXPECT_THAT(r.out, HasSubstr("stored examples are predicted differently"));
  EXPECT_THAT(r.out, HasSubstr(", now " + real));

  r = Chatbot({"verify-model", "--json"});
  EXPECT_EQ(r.exit_code, kExitFailure);
  const json::object report = json::parse(r.out).as_object();
  EXPECT_FALSE(report.at("ok").as_bool());
  EXPECT_EQ(report.at("models").as_array()[0].at("smoke").at("mismatches").as_array().size(), 1u);

  // A changed byte.
  WriteStringToFile(dir / "heldout.jsonl", ReadFileToString(dir / "heldout.jsonl") + "\n");
  r = Chatbot({"verify-model"});
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("heldout.jsonl: "));
}

TEST_F(OpsCliTest, CheckModelAgainstARunningService) {
  auto server = StartServer();
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port());
  ProcessResult r = Chatbot({"check-model", "--url", url, "--api-key", AdminKey()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r) << server->Describe();
  EXPECT_THAT(r.out, HasSubstr("service " + url + ": healthy (status ok, version "));
  EXPECT_THAT(r.out, HasSubstr("  svm: version "));
  EXPECT_THAT(r.out, HasSubstr("37 labels; held-out accuracy"));
  EXPECT_THAT(r.out, HasSubstr("latency over 10 /v1/parse requests: p50 "));

  // Without a key: healthy still (the API answers clients), the models unseen.
  r = Chatbot({"check-model", "--url", url, "--samples", "3"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("note: /v1/model answered 403"));

  r = Chatbot({"check-model", "--url", url, "--json", "--samples", "2", "--api-key", AdminKey()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_TRUE(json::parse(r.out).at("healthy").as_bool());

  server->Terminate();
  r = Chatbot({"check-model", "--url", url});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("UNREACHABLE"));
  EXPECT_EQ(Chatbot({"check-model", "--url", "ftp://x"}).exit_code, kExitUsage);
}

TEST_F(OpsCliTest, BackupWhileServingThenDeleteEverythingAndRestore) {
  auto server = StartServer();
  Chat(server->port(), 5, 3);
  // A backup taken while chats keep arriving.
  std::atomic<bool> stop{false};
  std::atomic<int> chats{0};
  std::thread load([&] {
    HttpClient client(server->port());
    while (!stop) {
      const HttpResult r = client.Post("/v1/chat", json::object{{"message", "hello"}}, Auth());
      if (r.status != 200) ADD_FAILURE() << r.Describe();
      ++chats;
      // Below the admin key's rate limit (200 a second).
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ProcessResult r = Chatbot({"backup", "--dest", Backups().string()});
  stop = true;
  load.join();
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_GT(chats, 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(Backup (\d{8}T\d{6}Z) written to )")))
      << r.out;
  const std::string name = m[1];
  EXPECT_THAT(r.out, HasSubstr("  sessions     " + Sessions().string() + ", "));
  EXPECT_THAT(r.out, HasSubstr("model/svm"));
  EXPECT_THAT(r.out, HasSubstr("model/bert   not present"));

  // What the backup holds is what the service had when it was taken; take
  // the reference after stopping, then restore onto that same state.
  server->Terminate();
  // Bring the data to exactly the backup's state first (the load went on
  // after the snapshot): restore, snapshot, delete, restore, compare.
  r = Chatbot({"restore", "--backup", name, "--dest", Backups().string()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const auto before = Snapshot();
  EXPECT_THAT(before.at("sessions"), HasSubstr("can I pay with paypal"));
  EXPECT_THAT(before.at("keys"), HasSubstr("[keys]"));

  fs::remove_all(work_.path() / "data");
  fs::remove(Sessions());
  fs::remove_all(work_.path() / "model");
  r = Chatbot({"restore", "--backup", "latest", "--dest", Backups().string()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("verified backup "));
  EXPECT_THAT(r.out, HasSubstr("restored sessions -> " + Sessions().string()));
  EXPECT_THAT(r.out, HasSubstr("restored keys -> data/security/keys.db"));
  EXPECT_THAT(r.out, HasSubstr("restored model/svm -> "));
  EXPECT_THAT(r.out, HasSubstr("verify-model svm: OK"));
  EXPECT_EQ(Snapshot(), before);

  // The restored service serves the restored sessions with the restored key.
  server = StartServer();
  HttpClient client(server->port());
  const HttpResult list = client.Get("/v1/sessions?limit=1000", Auth());
  ASSERT_EQ(list.status, 200) << list.Describe();
  EXPECT_GE(list.Json().at("sessions").as_array().size(), 5u);
}

TEST_F(OpsCliTest, RestoreRefusesWhileServingUnlessToldToStopTheService) {
  auto server = StartServer();
  Chat(server->port(), 2, 2);
  ASSERT_EQ(Chatbot({"backup", "--dest", Backups().string()}).exit_code, kExitOk);
  ProcessResult r = Chatbot({"restore", "--backup", "latest", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Restore refused: a service (process " +
                               std::to_string(server->pid()) + ") is using the data"));
  EXPECT_TRUE(server->running());
  HttpClient client(server->port());
  EXPECT_EQ(client.Get("/health").status, 200);

  r = Chatbot({"restore", "--backup", "latest", "--dest", Backups().string(), "--stop-server"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Stopping the service (process " + std::to_string(server->pid())));
  EXPECT_THAT(r.out, HasSubstr("start it again"));
  EXPECT_EQ(server->Wait(std::chrono::seconds(20)), 0) << server->Describe();
}

TEST_F(OpsCliTest, ADamagedBackupIsReportedAndNotRestored) {
  {
    auto server = StartServer();
    Chat(server->port(), 3, 2);
  }
  ProcessResult r = Chatbot({"backup", "--dest", Backups().string()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  r = Chatbot({"backup", "verify", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(": OK ("));
  const auto before = Snapshot();

  const fs::path latest = fs::directory_iterator(Backups())->path();
  const fs::path copy = latest / "model" / "svm" / "model.bin";
  std::string contents = ReadFileToString(copy);
  contents[100] ^= 1;
  WriteStringToFile(copy, contents);
  r = Chatbot({"backup", "verify", "latest", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("DAMAGED (1 problem)"));
  EXPECT_THAT(r.out, HasSubstr("model/svm/model.bin: checksum differs from the manifest"));

  fs::remove_all(work_.path() / "model");
  r = Chatbot({"restore", "--backup", "latest", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Restore refused: backup "));
  EXPECT_THAT(r.out, HasSubstr("is damaged; nothing restored"));
  EXPECT_FALSE(fs::exists(work_.path() / "model"));  // untouched: still deleted
  InstallSharedModel(work_.path());
  EXPECT_EQ(Snapshot().at("sessions"), before.at("sessions"));
}

TEST_F(OpsCliTest, BackupListAndRetention) {
  {
    auto server = StartServer();
    Chat(server->port(), 1, 1);
  }
  ProcessResult r = Chatbot({"backup", "list", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("No backups in"));
  for (int i = 0; i < 3; ++i) {
    r = Chatbot({"backup", "--dest", Backups().string(), "--keep", "2"});
    ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  }
  EXPECT_THAT(r.out, HasSubstr("Removed 1 old backup: "));
  r = Chatbot({"backup", "list", "--dest", Backups().string()});
  ASSERT_EQ(r.exit_code, kExitOk);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("NAME"));
  EXPECT_THAT(lines[1], HasSubstr("sessions, keys, admin_key, model/svm"));
  r = Chatbot({"backup", "list", "--json", "--dest", Backups().string()});
  ASSERT_EQ(Lines(r.out).size(), 2u);
  const json::object first = json::parse(Lines(r.out)[0]).as_object();
  EXPECT_EQ(first.at("sessions").as_int64(), 1);
  EXPECT_FALSE(first.at("host").as_string().empty());

  r = Chatbot({"backup", "prune", "--dest", Backups().string(), "--keep", "1"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Removed 1 backup: "));
  EXPECT_EQ(Chatbot({"backup", "prune", "--dest", Backups().string()}).exit_code, kExitUsage);
  EXPECT_EQ(Chatbot({"backup", "--max-age", "soon"}).exit_code, kExitUsage);
  EXPECT_EQ(Chatbot({"restore"}).exit_code, kExitUsage);
  r = Chatbot({"restore", "--backup", "nope", "--dest", Backups().string()});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("no backup nope in"));
}

TEST_F(OpsCliTest, SessionsCleanCanLeaveTheSpace) {
  {
    auto server = StartServer();
    Chat(server->port(), 3, 1);
  }
  // Sessions made a moment ago: wait until they are older than a second.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ProcessResult r = Chatbot({"sessions", "clean", "--older-than", "1s", "--no-vacuum"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Deleted 3 sessions"));
  EXPECT_THAT(r.out, Not(HasSubstr("bytes.")));
  r = Chatbot({"sessions", "clean", "--older-than", "12h"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Deleted 0 sessions"));
  EXPECT_THAT(r.out, HasSubstr(" bytes."));
}

TEST_F(OpsCliTest, AServiceDoesNotStartWhileARestoreHoldsTheData) {
  // Hold the data lock as a restore does (an exclusive fcntl lock).
  const fs::path lock_path = work_.path() / "serve.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &lock), 0);
  ServerOptions options;
  options.dir = work_.path();
  ServerProcess server(options);
  EXPECT_THROW(server.Start(), std::runtime_error);
  EXPECT_THAT(server.Stderr(), HasSubstr("a restore is replacing the data"));
  ::close(fd);
}

}  // namespace
}  // namespace chatbot::testing
