// A full disk under the real binary (docs/OPERATIONS.md, "A full disk"): the
// session database on a tmpfs of a few MB that the test mounts (root only;
// under CI=true, where the tests run as root, it must run), filled up while
// the service serves:
//   - chat turns get 503 storage_full with Retry-After and a log line
//     naming the database;
//   - what was stored before is still there and the database intact;
//   - the service serves turns again by itself once space returns;
//   - a backup and a training run into the full file system fail with a
//     message naming the path and the space needed.
#include <sys/mount.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"
#include "sqlite_check.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      CHATBOT_SKIP("mounting a small tmpfs needs root");
    }
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << Describe(model.training);
    InstallSharedModel(work_.path());
    fs::create_directories(Disk());
    ASSERT_EQ(
        ::mount("chatbot-test", Disk().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0700"),
        0)
        << "mount tmpfs on " << Disk() << ": " << std::strerror(errno);
    mounted_ = true;
  }

  void TearDown() override {
    if (server_ && server_->running()) server_->Terminate();
    server_.reset();
    if (mounted_) ::umount2(Disk().c_str(), MNT_DETACH);
  }

  fs::path Disk() const { return work_.path() / "disk"; }
  fs::path Filler() const { return Disk() / "filler"; }

  // Writes a file until the file system is full.
  void Fill() {
    std::FILE* file = std::fopen(Filler().c_str(), "ab");
    ASSERT_NE(file, nullptr);
    const std::string chunk(4096, 'f');
    while (std::fwrite(chunk.data(), 1, chunk.size(), file) == chunk.size() &&
           std::fflush(file) == 0) {
    }
    std::fclose(file);
  }

  ProcessResult Chatbot(std::vector<std::string> args) const {
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    args.insert(args.end(), {"--set", "paths.logs=" + (work_.path() / "logs").string()});
    options.args = std::move(args);
    options.working_directory = work_.path();
    options.timeout = std::chrono::seconds(120);
    return RunProcess(options);
  }

  TempDir work_{"chatbot-full-disk"};
  bool mounted_ = false;
  std::unique_ptr<ServerProcess> server_;
};

HttpResult Chat(HttpClient& client, const std::string& session, const std::string& message) {
  return client.Post("/v1/chat", json::object{{"message", message}, {"session_id", session}});
}

TEST_F(FullDiskTest, ChatIs503WhileFullNothingIsDamagedAndServiceRecoversBySelf) {
  const fs::path db = Disk() / "sessions.db";
  server_ = std::make_unique<ServerProcess>(
      ServerOptions{work_.path(), {"--set", "sessions.path=" + db.string()}, {}});
  server_->Start();
  HttpClient client(server_->port());
  const std::string text(1500, 'w');
  HttpResult first = client.Post("/v1/chat", json::object{{"message", "where is my order"}});
  ASSERT_EQ(first.status, 200) << first.Describe();
  const std::string session(first.Json().at("session_id").as_string());
  std::vector<std::string> acked = {"where is my order"};
  for (int i = 0; i < 20; ++i) {
    const std::string message = std::to_string(i) + " " + text;
    ASSERT_EQ(Chat(client, session, message).status, 200);
    acked.push_back(message);
  }

  Fill();
  // Pages SQLite already holds (the WAL) take some turns; then the disk is
  // full.
  HttpResult refused;
  for (int i = 0; i < 5000; ++i) {
    const std::string message = "full " + std::to_string(i) + " " + text;
    refused = Chat(client, session, message);
    if (refused.status != 200) break;
    acked.push_back(message);
  }
  ASSERT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_EQ(refused.Json().at("error").at("code"), "storage_full") << refused.Describe();
  EXPECT_FALSE(refused.headers["retry-after"].empty());
  EXPECT_EQ(refused.body.find(db.string()), std::string::npos) << "a path in a public answer";
  // Stays refused while full; reads still work and show every stored turn.
  EXPECT_EQ(Chat(client, session, "still full?").status, 503);
  const auto stored_turns = [&] {
    const HttpResult r = client.Get("/v1/sessions/" + session);
    EXPECT_EQ(r.status, 200) << r.Describe();
    std::vector<std::string> messages;
    const json::value session = r.Json();
    for (const json::value& turn : session.at("turns").as_array()) {
      messages.emplace_back(turn.at("message").as_string());
    }
    return messages;
  };
  EXPECT_EQ(stored_turns(), acked);
  const std::string log = ReadFileToString(work_.path() / "logs" / "app.log");
  EXPECT_NE(log.find("storage full: " + db.string()), std::string::npos) << log;

  // Space returns: the service takes turns again without a restart.
  fs::remove(Filler());
  const Clock::time_point freed = Clock::now();
  HttpResult again;
  while (Clock::now() - freed < std::chrono::seconds(10)) {
    again = Chat(client, session, "space again");
    if (again.status == 200) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  const auto recovery_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - freed).count();
  ASSERT_EQ(again.status, 200) << again.Describe();
  acked.push_back("space again");
  EXPECT_EQ(again.Json().at("turn").to_number<int64_t>(), static_cast<int64_t>(acked.size()));
  EXPECT_EQ(stored_turns(), acked);
  ASSERT_EQ(server_->Terminate(), 0) << server_->Describe();
  EXPECT_EQ(SqliteIntegrity(db), "ok");
  std::printf(
      "full disk: %zu turns stored, refused with 503 once full; served again %lld ms "
      "after the space returned\n",
      acked.size(), static_cast<long long>(recovery_ms));
}

TEST_F(FullDiskTest, BackupAndTrainingIntoAFullDiskNameThePathAndTheSpaceNeeded) {
  // Sessions on the ordinary disk, big enough not to fit what is left.
  server_ = std::make_unique<ServerProcess>(ServerOptions{work_.path(), {}, {}});
  server_->Start();
  {
    HttpClient client(server_->port());
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(client.Post("/v1/chat", json::object{{"message", "where is my order"}}).status,
                200);
    }
  }
  Fill();
  const fs::path backups = Disk() / "backups";
  const ProcessResult backup =
      Chatbot({"backup", "--dest", backups.string(), "--set",
               "sessions.path=" + (work_.path() / "sessions.db").string()});
  EXPECT_NE(backup.exit_code, 0) << Describe(backup);
  EXPECT_NE(backup.err.find(backups.string()), std::string::npos) << Describe(backup);
  EXPECT_NE(backup.err.find("bytes needed"), std::string::npos) << Describe(backup);
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(backups, error)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }

  const fs::path models = Disk() / "model";
  const ProcessResult train =
      Chatbot({"train", "--data", DefaultDomainDir().string(), "--models", models.string()});
  EXPECT_NE(train.exit_code, 0) << Describe(train);
  EXPECT_NE(train.err.find(models.string()), std::string::npos) << Describe(train);
  EXPECT_NE(train.err.find("bytes needed"), std::string::npos) << Describe(train);
  EXPECT_FALSE(fs::exists(models / "svm" / "manifest.json"));
  // The error, without the progress lines before it.
  const auto last_line = [](const std::string& text) {
    const size_t error = text.rfind("chatbot: error:");
    return error == std::string::npos ? text : text.substr(error);
  };
  std::printf("backup: %s\ntraining: %s\n", last_line(backup.err).c_str(),
              last_line(train.err).c_str());
}

}  // namespace
}  // namespace chatbot::testing
