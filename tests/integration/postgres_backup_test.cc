// `chatbot backup` and `chatbot restore` with store.backend = postgres, real
// processes on loopback: clients write chat turns continuously to a
// `chatbot serve` on one PostgreSQL cluster, recording when each turn was
// acknowledged; a backup is taken meanwhile and restored into a new, empty
// cluster, where every turn acknowledged before the backup started must be.
// Restoring again into that (now non-empty) database is refused, and
// `backup verify` finds a damaged dump.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "postgres_server.h"
#include "process_runner.h"
#include "server_process.h"
#include "store/postgres_session_store.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr int kWriters = 2;

// One acknowledged turn: the session, its number there, and when the 200
// came back.
struct Ack {
  std::string session;
  int64_t turn = 0;
  Clock::time_point at;
};

class PostgresBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::BinDir().empty()) {
      CHATBOT_SKIP("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)");
    }
    const SharedModel& shared = SharedTrainedModel();
    ASSERT_TRUE(shared.ok) << Describe(shared.training);
    source_ = std::make_unique<PostgresServer>();
    InstallSharedModel(primary_.path());
    // The password travels as a secret file would give it; the test
    // servers trust loopback, so it is accepted whatever it is, but it
    // goes through the password file the tools are given.
    WriteStringToFile(primary_.path() / "pg.url",
                      source_->CreateDatabase() + " password='s:e\\\\cret'\n");
  }

  static std::vector<std::string> PostgresArgs(const fs::path& url_file) {
    return {"--set", "store.backend=postgres",
            "--set", "store.postgres_url_file=" + url_file.string(),
            "--set", "store.postgres_connect_timeout_ms=2000"};
  }

  // `chatbot ARGS` in `dir` on the PostgreSQL database named in dir/pg.url.
  static ProcessResult Chatbot(const fs::path& dir, std::vector<std::string> args) {
    for (const std::string& a : PostgresArgs(dir / "pg.url")) args.push_back(a);
    for (const std::string& a : {std::string("--set"), "paths.logs=" + (dir / "logs").string(),
                                 std::string("--models"), (dir / "model").string()}) {
      args.push_back(a);
    }
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    options.args = std::move(args);
    options.working_directory = dir;
    options.timeout = std::chrono::seconds(180);
    return RunProcess(options);
  }

  // Sends turns to a few sessions of its own until `stop`, recording each
  // acknowledgement; any answer but 200 is a failure.
  void Write(uint16_t port, int writer) {
    HttpClient client(port);
    std::vector<std::string> sessions(3);
    for (int i = 0; !stop_; ++i) {
      std::string& session = sessions[static_cast<size_t>(i) % sessions.size()];
      json::object body{{"message", i % 2 ? "where is my order" : "can I pay with paypal"}};
      if (!session.empty()) body["session_id"] = session;
      const HttpResult r = client.Post("/v1/chat", body);
      const Clock::time_point at = Clock::now();
      if (r.status != 200) {
        std::lock_guard lock(mutex_);
        failures_.push_back("writer " + std::to_string(writer) + ": " + r.Describe());
        return;
      }
      const json::value reply = r.Json();
      session = std::string(reply.at("session_id").as_string());
      std::lock_guard lock(mutex_);
      acks_.push_back({session, reply.at("turn").as_int64(), at});
    }
  }

  size_t AckCount() {
    std::lock_guard lock(mutex_);
    return acks_.size();
  }

  // Waits (polling, 60 s at most) until `count` turns were acknowledged.
  bool WaitForAcks(size_t count) {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
    while (AckCount() < count && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return AckCount() >= count;
  }

  TempDir primary_{"chatbot-pg-backup"};
  TempDir spare_{"chatbot-pg-restore"};
  std::unique_ptr<PostgresServer> source_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Ack> acks_;
  std::vector<std::string> failures_;
};

TEST_F(PostgresBackupTest, BackupUnderWriteLoadRestoresEveryTurnAcknowledgedBeforeIt) {
  ServerProcess serve({primary_.path(), PostgresArgs(primary_.path() / "pg.url"), {}});
  serve.Start();
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) writers.emplace_back([&, w] { Write(serve.port(), w); });

  ASSERT_TRUE(WaitForAcks(60)) << AckCount() << " turns acknowledged";
  const Clock::time_point backup_started = Clock::now();
  const ProcessResult backup = Chatbot(primary_.path(), {"backup", "--dest", "backups"});
  const Clock::time_point backup_ended = Clock::now();
  // The service kept acknowledging turns while and after the dump ran.
  const bool more = WaitForAcks(AckCount() + 20);
  stop_ = true;
  for (std::thread& t : writers) t.join();
  size_t acks_before = 0;
  size_t acks_during = 0;
  for (const Ack& a : acks_) {
    acks_before += a.at < backup_started;
    acks_during += a.at >= backup_started && a.at < backup_ended;
  }
  EXPECT_EQ(serve.Terminate(), 0) << serve.Describe();
  ASSERT_TRUE(failures_.empty()) << failures_.front();
  ASSERT_EQ(backup.exit_code, 0) << Describe(backup);
  EXPECT_TRUE(more);
  EXPECT_THAT(backup.out, HasSubstr("database     127.0.0.1:"));
  std::smatch written;
  ASSERT_TRUE(std::regex_search(backup.out, written,
                                std::regex(R"(Backup (\S+) written to \S+ in ([0-9.]+) s: (.*))")))
      << backup.out;
  const fs::path dir = primary_.path() / "backups" / written[1].str();
  std::printf(
      "[ figures ] backup under load: %s s (%.2f s wall), %s; %zu turns acknowledged "
      "before it, %zu while it ran\n",
      written[2].str().c_str(),
      std::chrono::duration<double>(backup_ended - backup_started).count(),
      written[3].str().c_str(), acks_before, acks_during);

  const ProcessResult verified = Chatbot(primary_.path(), {"backup", "verify", dir.string()});
  EXPECT_EQ(verified.exit_code, 0) << Describe(verified);
  EXPECT_THAT(verified.out, HasSubstr(": OK ("));

  // A spare machine with a new, empty cluster.
  PostgresServer spare_server;
  WriteStringToFile(spare_.path() / "pg.url", spare_server.CreateDatabase());
  const ProcessResult restored =
      Chatbot(spare_.path(), {"restore", "--backup", dir.string(), "--no-config"});
  ASSERT_EQ(restored.exit_code, 0) << Describe(restored);
  EXPECT_THAT(restored.out, HasSubstr("restored database -> 127.0.0.1:"));
  EXPECT_THAT(restored.out, HasSubstr("verify-model svm: OK"));

  // Every turn acknowledged before the backup started is there, and no
  // session holds more turns than were acknowledged in all.
  std::map<std::string, int64_t> acknowledged_before;  // session -> highest turn
  std::map<std::string, int64_t> acknowledged;
  for (const Ack& a : acks_) {
    acknowledged[a.session] = std::max(acknowledged[a.session], a.turn);
    if (a.at < backup_started) {
      acknowledged_before[a.session] = std::max(acknowledged_before[a.session], a.turn);
    }
  }
  ASSERT_FALSE(acknowledged_before.empty());
  store::PostgresSessionStore restored_store(
      {.url = ReadFileToString(spare_.path() / "pg.url"), .pool_size = 1});
  int64_t turns_before = 0;
  for (const auto& [session, turn] : acknowledged_before) {
    const std::optional<store::Session> s = restored_store.GetSession(session, true);
    ASSERT_TRUE(s.has_value()) << "session " << session << " is missing";
    EXPECT_GE(static_cast<int64_t>(s->turns.size()), turn) << "session " << session;
    EXPECT_LE(static_cast<int64_t>(s->turns.size()), acknowledged[session]);
    turns_before += turn;
  }
  EXPECT_EQ(static_cast<size_t>(turns_before), acks_before);

  // Its database now holds tables: a second restore is refused, and the
  // data stays as it is.
  const ProcessResult again =
      Chatbot(spare_.path(), {"restore", "--backup", dir.string(), "--no-config"});
  EXPECT_EQ(again.exit_code, 1) << Describe(again);
  EXPECT_THAT(again.out, HasSubstr("Restore refused: the database 127.0.0.1:"));
  EXPECT_THAT(again.out, HasSubstr("is not empty"));
  EXPECT_THAT(again.out, HasSubstr("--replace-database"));
  EXPECT_TRUE(restored_store.GetSession(acknowledged_before.begin()->first, false).has_value());

  // A damaged copy of the dump is found without restoring anything.
  const fs::path damaged = primary_.path() / "damaged";
  fs::copy(dir, damaged, fs::copy_options::recursive);
  const fs::path dump = damaged / "database" / "chatbot.pgdump";
  std::string bytes = ReadFileToString(dump);
  ASSERT_GT(bytes.size(), 2000u);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  fs::permissions(dump, fs::perms::owner_write, fs::perm_options::add);
  WriteStringToFile(dump, bytes);
  const ProcessResult found = Chatbot(primary_.path(), {"backup", "verify", damaged.string()});
  EXPECT_EQ(found.exit_code, 1) << Describe(found);
  EXPECT_THAT(found.out, HasSubstr("DAMAGED"));
  EXPECT_THAT(found.out, HasSubstr("database/chatbot.pgdump: checksum differs"));
}

}  // namespace
}  // namespace chatbot::testing
