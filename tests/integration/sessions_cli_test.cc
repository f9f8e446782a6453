// Integration tests of `chatbot sessions list|show|export|clean`: each test
// fills a session database in a fresh temporary working directory through
// SqliteSessionStore (at the default path, data/sessions/sessions.db, unless
// it says otherwise), closes it, then runs the real binary there.
//
// Exit statuses (src/cli/command_context.h): 0 ok, 1 the command ran and
// found a problem, 2 bad arguments or configuration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "process_runner.h"
#include "store/sqlite_session_store.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using store::SqliteSessionStore;
using store::Turn;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path kBinary = CHATBOT_BINARY;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Turn MakeTurn(int64_t number, int64_t replied_at_ms) {
  Turn turn;
  turn.number = number;
  turn.user_text = "where is my parcel " + std::to_string(number);
  turn.intent = "order_status";
  turn.confidence = 0.875;
  turn.out_of_scope = false;
  turn.reply = "It is on its way (" + std::to_string(number) + ").";
  turn.model = "svm";
  turn.model_version = "v-test";
  turn.received_at_ms = replied_at_ms - 5;
  turn.replied_at_ms = replied_at_ms;
  return turn;
}

class SessionsCliTest : public ::testing::Test {
 protected:
  fs::path DbPath() const { return work_.path() / "data" / "sessions" / "sessions.db"; }

  std::unique_ptr<SqliteSessionStore> OpenStore() {
    return SqliteSessionStore::Open(DbPath(), false);
  }

  // A session created at `created_ms` with `turns` turns, the last replied at
  // `updated_ms` (its last activity).
  void AddSession(SqliteSessionStore& store, const std::string& id, int64_t created_ms,
                  int64_t updated_ms, int turns) {
    store.CreateSession(id, created_ms);
    for (int n = 1; n <= turns; ++n) {
      store.AppendTurn(id, MakeTurn(n, updated_ms - (turns - n)),
                       R"({"last_intent":"order_status","turn":)" + std::to_string(n) + "}");
    }
  }

  ProcessResult Chatbot(const std::vector<std::string>& args) {
    ProcessOptions options;
    options.program = kBinary;
    options.args = args;
    options.working_directory = work_.path();
    return RunProcess(options);
  }

  std::vector<std::string> ListedIds() {
    const ProcessResult r = Chatbot({"sessions", "list", "--json", "--limit", "1000"});
    EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
    std::vector<std::string> ids;
    for (const std::string& line : Lines(r.out)) {
      ids.push_back(std::string(json::parse(line).at("id").as_string()));
    }
    return ids;
  }

  TempDir work_{"chatbot-sessions-cli"};
};

// 2023-11-14T22:13:20.000Z
constexpr int64_t kT0 = 1'700'000'000'000;

TEST_F(SessionsCliTest, WithoutADatabaseEverythingIsEmptyAndNothingIsCreated) {
  ProcessResult r = Chatbot({"sessions", "list"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "No sessions.\n");
  r = Chatbot({"sessions", "list", "--json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "");
  r = Chatbot({"sessions", "export"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "");
  r = Chatbot({"sessions", "show", "abc"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no session abc"));
  EXPECT_FALSE(fs::exists(work_.path() / "data")) << "a read created the database directory";
}

TEST_F(SessionsCliTest, ListIsATableNewestFirst) {
  {
    auto store = OpenStore();
    AddSession(*store, "first", kT0, kT0 + 10 * kMinute, 2);
    AddSession(*store, "second-session", kT0 + kHour, kT0 + kHour, 0);
    AddSession(*store, "third", kT0 + 2 * kHour, kT0 + 3 * kHour, 5);
  }
  const ProcessResult r = Chatbot({"sessions", "list"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("ID"));
  EXPECT_THAT(lines[0], HasSubstr("CREATED"));
  EXPECT_THAT(lines[0], HasSubstr("UPDATED"));
  EXPECT_THAT(lines[0], HasSubstr("TURNS"));
  EXPECT_THAT(lines[1], StartsWith("third "));
  EXPECT_THAT(lines[1], HasSubstr("2023-11-15T00:13:20.000Z  2023-11-15T01:13:20.000Z  5"));
  EXPECT_THAT(lines[2], StartsWith("second-session "));
  EXPECT_THAT(lines[3], StartsWith("first "));
  EXPECT_THAT(lines[3], HasSubstr("2023-11-14T22:13:20.000Z  2023-11-14T22:23:20.000Z  2"));
}

TEST_F(SessionsCliTest, ListPagesWithLimitAndBeforeAsJsonLines) {
  {
    auto store = OpenStore();
    for (int i = 0; i < 5; ++i) {
      AddSession(*store, "s" + std::to_string(i), kT0 + i * 1000, kT0 + i * 1000, i);
    }
  }
  ProcessResult r = Chatbot({"sessions", "list", "--limit", "2", "--json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  const json::object first = json::parse(lines[0]).as_object();
  EXPECT_EQ(first.at("id").as_string(), "s4");
  EXPECT_EQ(first.at("created_at_ms").as_int64(), kT0 + 4000);
  EXPECT_EQ(first.at("created_at").as_string(), "2023-11-14T22:13:24.000Z");
  EXPECT_EQ(first.at("updated_at_ms").as_int64(), kT0 + 4000);
  EXPECT_EQ(first.at("turn_count").as_int64(), 4);
  const int64_t cursor = json::parse(lines[1]).at("created_at_ms").as_int64();
  EXPECT_EQ(cursor, kT0 + 3000);

  r = Chatbot({"sessions", "list", "--limit", "2", "--json", "--before", std::to_string(cursor)});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(json::parse(lines[0]).at("id").as_string(), "s2");
  EXPECT_EQ(json::parse(lines[1]).at("id").as_string(), "s1");

  // The text table tells how to get the next page when it is full.
  r = Chatbot({"sessions", "list", "--limit", "3"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("--before " + std::to_string(kT0 + 2000)));

  EXPECT_EQ(Chatbot({"sessions", "list", "--limit", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(Chatbot({"sessions", "list", "--before", "yesterday"}).exit_code, kExitUsage);
  EXPECT_EQ(Chatbot({"sessions"}).exit_code, kExitUsage);
}

TEST_F(SessionsCliTest, ShowPrintsTheSessionAndItsTurns) {
  {
    auto store = OpenStore();
    AddSession(*store, "abc", kT0, kT0 + kMinute, 2);
  }
  ProcessResult r = Chatbot({"sessions", "show", "abc"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("session  abc"));
  EXPECT_THAT(r.out, HasSubstr("created  2023-11-14T22:13:20.000Z"));
  EXPECT_THAT(r.out, HasSubstr("turns    2"));
  EXPECT_THAT(r.out, HasSubstr(R"("turn":2)"));
  EXPECT_THAT(r.out, HasSubstr("where is my parcel 1"));
  EXPECT_THAT(r.out, HasSubstr("where is my parcel 2"));
  EXPECT_THAT(r.out, HasSubstr("order_status 0.8750"));
  EXPECT_THAT(r.out, HasSubstr("It is on its way (2)."));

  r = Chatbot({"sessions", "show", "abc", "--json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json::object session = json::parse(r.out).as_object();
  EXPECT_EQ(session.at("id").as_string(), "abc");
  EXPECT_EQ(session.at("turn_count").as_int64(), 2);
  EXPECT_EQ(session.at("updated_at_ms").as_int64(), kT0 + kMinute);
  // The dialogue state is embedded as JSON, not as a string.
  EXPECT_EQ(session.at("dialogue_state").at("turn").as_int64(), 2);
  const json::array& turns = session.at("turns").as_array();
  ASSERT_EQ(turns.size(), 2u);
  const json::object& turn = turns[1].as_object();
  EXPECT_EQ(turn.at("number").as_int64(), 2);
  EXPECT_EQ(turn.at("user_text").as_string(), "where is my parcel 2");
  EXPECT_EQ(turn.at("intent").as_string(), "order_status");
  EXPECT_DOUBLE_EQ(turn.at("confidence").to_number<double>(), 0.875);
  EXPECT_EQ(turn.at("out_of_scope").as_bool(), false);
  EXPECT_EQ(turn.at("model").as_string(), "svm");
  EXPECT_EQ(turn.at("model_version").as_string(), "v-test");
  EXPECT_EQ(turn.at("replied_at_ms").as_int64(), kT0 + kMinute);
  EXPECT_EQ(turn.at("received_at_ms").as_int64(), kT0 + kMinute - 5);

  r = Chatbot({"sessions", "show", "nope"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no session nope"));
  EXPECT_EQ(r.out, "");
}

TEST_F(SessionsCliTest, ExportWritesJsonLinesToStdoutOrAtomicallyToAFile) {
  {
    auto store = OpenStore();
    AddSession(*store, "a", kT0, kT0, 1);
    AddSession(*store, "b", kT0 + 1, kT0 + 1, 3);
    AddSession(*store, "c", kT0 + 2, kT0 + 2, 0);
  }
  const ProcessResult r = Chatbot({"sessions", "export"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  std::vector<std::string> ids;
  std::vector<size_t> turn_counts;
  for (const std::string& line : lines) {
    const json::object session = json::parse(line).as_object();
    ids.push_back(std::string(session.at("id").as_string()));
    turn_counts.push_back(session.at("turns").as_array().size());
    EXPECT_EQ(session.at("turn_count").as_int64(), static_cast<int64_t>(turn_counts.back()));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));  // oldest first
  EXPECT_EQ(turn_counts, (std::vector<size_t>{1, 3, 0}));

  const fs::path output = work_.path() / "out" / "export.jsonl";
  fs::create_directories(output.parent_path());
  const ProcessResult to_file = Chatbot({"sessions", "export", "--output", output.string()});
  ASSERT_EQ(to_file.exit_code, kExitOk) << Describe(to_file);
  EXPECT_EQ(to_file.out, "");
  EXPECT_THAT(to_file.err, HasSubstr("Exported 3 sessions"));
  EXPECT_EQ(ReadFileToString(output), r.out);
  // Nothing but the file itself is left in its directory (no temporaries).
  EXPECT_EQ(std::distance(fs::directory_iterator(output.parent_path()), fs::directory_iterator()),
            1);
}

TEST_F(SessionsCliTest, CleanDeletesSessionsIdleLongerThanTheDuration) {
  const int64_t now = NowMs();
  {
    auto store = OpenStore();
    AddSession(*store, "idle-40d", now - 50 * kDay, now - 40 * kDay, 3);
    AddSession(*store, "idle-1h", now - 50 * kDay, now - kHour, 2);  // old but active
    AddSession(*store, "new", now - kMinute, now - kMinute, 0);
  }
  const ProcessResult r = Chatbot({"sessions", "clean", "--older-than", "30d"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Deleted 1 sessions idle for more than 30d"));
  EXPECT_THAT(r.out, HasSubstr("bytes"));
  EXPECT_EQ(ListedIds(), (std::vector<std::string>{"new", "idle-1h"}));
  auto store = OpenStore();
  EXPECT_EQ(store->GetSession("idle-1h", true)->turns.size(), 2u);
}

TEST_F(SessionsCliTest, CleanUnderstandsEveryUnit) {
  const int64_t now = NowMs();
  {
    auto store = OpenStore();
    AddSession(*store, "50s", now - kDay, now - 50 * 1000, 1);
    AddSession(*store, "100m", now - kDay, now - 100 * kMinute, 1);
    AddSession(*store, "13h", now - kDay, now - 13 * kHour, 1);
    AddSession(*store, "3d", now - 30 * kDay, now - 3 * kDay, 1);
    AddSession(*store, "15d", now - 30 * kDay, now - 15 * kDay, 1);
  }
  // Each step deletes exactly the one session just beyond it.
  for (const char* duration : {"2w", "2d", "12h", "90m", "45s"}) {
    const ProcessResult r = Chatbot({"sessions", "clean", "--older-than", duration});
    ASSERT_EQ(r.exit_code, kExitOk) << duration << ": " << Describe(r);
    EXPECT_THAT(r.out, HasSubstr("Deleted 1 sessions")) << duration << ": " << r.out;
  }
  EXPECT_EQ(ListedIds(), std::vector<std::string>{});
}

TEST_F(SessionsCliTest, MalformedDurationsAreUsageErrors) {
  {
    auto store = OpenStore();
    AddSession(*store, "old", kT0, kT0, 1);
  }
  for (const char* bad : {"30", "d", "-5d", "+5d", "5x", "5 d", " 5d", "5d ", "1.5h", "0d", "",
                          "5dd", "99999999999999999999w", "36501d"}) {
    const ProcessResult r = Chatbot({"sessions", "clean", "--older-than", bad});
    EXPECT_EQ(r.exit_code, kExitUsage) << "'" << bad << "': " << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("--older-than: ")) << "'" << bad << "'";
  }
  EXPECT_EQ(ListedIds(), std::vector<std::string>{"old"});
}

TEST_F(SessionsCliTest, CleanWithoutDurationUsesRetentionDays) {
  const int64_t now = NowMs();
  {
    auto store = OpenStore();
    AddSession(*store, "old", now - 20 * kDay, now - 10 * kDay, 1);
    AddSession(*store, "recent", now - 20 * kDay, now - 2 * kDay, 1);
  }
  ProcessResult r = Chatbot({"sessions", "clean"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--older-than"));
  EXPECT_THAT(r.err, HasSubstr("sessions.retention_days"));

  r = Chatbot({"--set", "sessions.retention_days=7", "sessions", "clean"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Deleted 1 sessions idle for more than 7d"));
  EXPECT_EQ(ListedIds(), std::vector<std::string>{"recent"});
}

TEST_F(SessionsCliTest, SessionsPathSettingIsHonoured) {
  const fs::path custom = work_.path() / "elsewhere" / "s.db";
  {
    auto store = SqliteSessionStore::Open(custom, false);
    AddSession(*store, "custom", kT0, kT0, 1);
  }
  const ProcessResult r =
      Chatbot({"--set", "sessions.path=" + custom.string(), "sessions", "show", "custom"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("session  custom"));
  EXPECT_EQ(Chatbot({"sessions", "show", "custom"}).exit_code, kExitFailure);
}

TEST_F(SessionsCliTest, ADamagedDatabaseIsAFailureNamingTheFile) {
  fs::create_directories(DbPath().parent_path());
  WriteStringToFile(DbPath(), std::string(4096, 'x'));
  const ProcessResult r = Chatbot({"sessions", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr(DbPath().filename().string()));
  EXPECT_THAT(r.err, HasSubstr("file is not a database"));
}

}  // namespace
}  // namespace chatbot::testing
