// ops backups: a consistent copy of a database that is being written to,
// the manifest, verification that notices any damage, listing and
// retention, and restores that are all or nothing (a damaged backup and a
// failure half way leave the current data as it was), plus the data lock
// between serve and restore.
#include "ops/backup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"
#include "nlu/model_manifest.h"
#include "ops/data_lock.h"
#include "ops/sqlite_backup.h"
#include "store/sqlite_session_store.h"
#include "temp_dir.h"

namespace chatbot::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

// Each test's own directory, named after this suite.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("chatbot-backup") {}
};

store::Turn MakeTurn(int64_t number) {
  store::Turn t;
  t.number = number;
  t.user_text = "message " + std::to_string(number);
  t.intent = "greet";
  t.confidence = 0.9;
  t.reply = "hello";
  t.model = "svm";
  t.model_version = "v1";
  t.received_at_ms = 1000 + number;
  t.replied_at_ms = 1001 + number;
  return t;
}

// Every session with its turns, for before/after comparisons.
std::string Dump(const fs::path& db) {
  auto store = store::SqliteSessionStore::Open(db, false);
  std::string out;
  store->ForEachSession([&out](const store::Session& s) {
    out +=
        s.summary.id + " " + std::to_string(s.summary.turn_count) + " " + s.dialogue_state + "\n";
    for (const store::Turn& t : s.turns)
      out += "  " + std::to_string(t.number) + t.user_text + "\n";
  });
  return out;
}

// The keys table's rows (a restored database holds the same rows; its bytes
// may differ, as the backup API rewrites the header).
std::string DumpKeys(const fs::path& db_path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT id, hash FROM keys ORDER BY id",
        [](void* text, int columns, char** values, char**) {
          for (int i = 0; i < columns; ++i)
            *static_cast<std::string*>(text) += std::string(values[i]) + " ";
          return 0;
        },
        &out, nullptr);
  }
  sqlite3_close(db);
  return out;
}

void FlipByte(const fs::path& path, size_t offset) {
  std::string contents = ReadFile(path);
  ASSERT_LT(offset, contents.size());
  contents[offset] = static_cast<char>(~static_cast<unsigned char>(contents[offset]));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

// A service's data: sessions, a keys database, a model folder, a config.
class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    sessions_ = data_ / "sessions" / "sessions.db";
    keys_ = data_ / "security" / "keys.db";
    model_ = dir_.path() / "model" / "svm";
    config_ = dir_.path() / "config" / "chatbot.toml";
    root_ = dir_.path() / "backups";
    {
      auto store = store::SqliteSessionStore::Open(sessions_, false);
      for (int s = 0; s < 20; ++s) {
        const std::string id = "session-" + std::to_string(s);
        store->CreateSession(id, 1000 + s);
        for (int t = 1; t <= 3; ++t)
          store->AppendTurn(id, MakeTurn(t), "{\"n\":" + std::to_string(t) + "}");
      }
    }
    {
      sqlite3* db = nullptr;
      fs::create_directories(keys_.parent_path());
      ASSERT_EQ(sqlite3_open(keys_.c_str(), &db), SQLITE_OK);
      ASSERT_EQ(sqlite3_exec(db,
                             "CREATE TABLE keys(id TEXT PRIMARY KEY, hash TEXT);"
                             "INSERT INTO keys VALUES('k1','h1'),('k2','h2');",
                             nullptr, nullptr, nullptr),
                SQLITE_OK);
      sqlite3_close(db);
      ::chmod(keys_.c_str(), 0600);
    }
    nlu::WriteModelDirectory(model_,
                             {{"model.bin", std::string(5000, 'w')}, {"smoke.jsonl", "{}\n"}},
                             {{"format", "test-model"}, {"version", "v7"}});
    fs::create_directories(config_.parent_path());
    std::ofstream(config_) << "[bot]\nname = \"Backup\"\n";
  }

  std::vector<BackupItem> Items() const {
    return {
        {BackupItemKind::kSqlite, "sessions", sessions_, "sessions/sessions.db"},
        {BackupItemKind::kSqlite, "keys", keys_, "keys/keys.db"},
        {BackupItemKind::kFile, "admin_key", data_ / "security" / "admin.key", "keys/admin.key"},
        {BackupItemKind::kDirectory, "model/svm", model_, "model/svm"},
        {BackupItemKind::kDirectory, "model/bert", dir_.path() / "model" / "bert", "model/bert"},
        {BackupItemKind::kFile, "config", config_, "config/chatbot.toml"}};
  }

  std::vector<RestoreTarget> Targets() const {
    return {{"sessions", sessions_},
            {"keys", keys_},
            {"admin_key", data_ / "security" / "admin.key"},
            {"model/svm", model_},
            {"config", config_}};
  }

  BackupResult Backup(const std::string& name = "") {
    BackupOptions options;
    options.root = root_;
    options.items = Items();
    options.program_version = "test";
    options.name = name;
    return CreateBackup(options);
  }

  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> s;
    s["sessions"] = Dump(sessions_);
    s["keys"] = DumpKeys(keys_);
    for (const auto& e : fs::directory_iterator(model_)) {
      s["model/" + e.path().filename().string()] = Sha256FileHex(e.path());
    }
    s["config"] = ReadFile(config_);
    return s;
  }

  TempDir dir_;
  fs::path data_, sessions_, keys_, model_, config_, root_;
};

TEST_F(BackupTest, CreatesAFolderWithAManifestOfEveryFile) {
  const BackupResult result = Backup("20260101T000000Z");
  EXPECT_EQ(result.name, "20260101T000000Z");
  EXPECT_EQ(result.dir, root_ / "20260101T000000Z");
  EXPECT_TRUE(fs::exists(result.dir / "manifest.json"));
  EXPECT_TRUE(fs::exists(result.dir / "sessions" / "sessions.db"));
  EXPECT_FALSE(fs::exists(result.dir / "sessions" / "sessions.db-wal"));
  EXPECT_TRUE(fs::exists(result.dir / "model" / "svm" / "model.bin"));
  // Backups hold secrets: owner only, and the key database keeps its mode.
  EXPECT_EQ(fs::status(result.dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(result.dir / "keys" / "keys.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const json::object manifest = json::parse(ReadFile(result.dir / "manifest.json")).as_object();
  EXPECT_EQ(manifest.at("format").as_string(), "chatbot-backup");
  EXPECT_EQ(manifest.at("format_version").as_int64(), 1);
  EXPECT_FALSE(manifest.at("host").as_string().empty());
  EXPECT_EQ(manifest.at("program_version").as_string(), "test");
  const json::object& files = manifest.at("files").as_object();
  EXPECT_EQ(files.size(), 6u);  // sessions, keys, model: manifest + 2 files, config
  for (const auto& [name, entry] : files) {
    EXPECT_EQ(entry.at("sha256").as_string(), Sha256FileHex(result.dir / std::string(name)))
        << name;
  }
  std::map<std::string, json::object> items;
  for (const auto& item : manifest.at("items").as_array()) {
    items[std::string(item.at("role").as_string())] = item.as_object();
  }
  EXPECT_EQ(items["sessions"].at("tables").at("sessions").as_int64(), 20);
  EXPECT_EQ(items["sessions"].at("tables").at("turns").as_int64(), 60);
  EXPECT_EQ(items["sessions"].at("schema_version").as_int64(),
            store::SqliteSessionStore::kSchemaVersion);
  EXPECT_EQ(items["keys"].at("tables").at("keys").as_int64(), 2);
  EXPECT_EQ(items["model/svm"].at("version").as_string(), "v7");
  EXPECT_FALSE(items["model/bert"].at("present").as_bool());
  EXPECT_FALSE(items["admin_key"].at("present").as_bool());
  EXPECT_TRUE(items["config"].at("present").as_bool());
  EXPECT_TRUE(VerifyBackup(result.dir).ok());
}

TEST_F(BackupTest, CopiesADatabaseConsistentlyWhileItIsWritten) {
  // A writer in another thread (its own connection, as the service's is in
  // another process) appends turns as fast as it can during the copies.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto store = store::SqliteSessionStore::Open(sessions_, false);
    for (int s = 0; !stop; ++s) {
      const std::string id = "live-" + std::to_string(s);
      store->CreateSession(id, 5000 + s);
      for (int t = 1; t <= 5; ++t) store->AppendTurn(id, MakeTurn(t), "{}");
      ++written;
    }
  });
  while (written < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 5; ++i) {
    const fs::path copy = dir_.path() / ("copy" + std::to_string(i) + ".db");
    const SqliteDatabaseInfo info = BackupSqliteDatabase(sessions_, copy);
    const SqliteDatabaseInfo checked = InspectSqliteDatabase(copy, true);
    EXPECT_EQ(checked.table_rows, info.table_rows);
    // One snapshot: every session's turn count matches the turns copied.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(copy.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT count(*) FROM sessions s WHERE turn_count != (SELECT "
                                 "count(*) FROM turns t WHERE t.session_id = s.id)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt, 0), 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    EXPECT_GE(info.table_rows.at("sessions"), 40);
  }
  stop = true;
  writer.join();
}

TEST_F(BackupTest, VerifyNoticesDamageMissingAndExtraFiles) {
  const BackupResult result = Backup();
  FlipByte(result.dir / "model" / "svm" / "model.bin", 100);
  std::ofstream(result.dir / "stray.txt") << "x";
  fs::remove(result.dir / "config" / "chatbot.toml");
  const BackupVerification v = VerifyBackup(result.dir);
  EXPECT_FALSE(v.ok());
  std::string all;
  for (const std::string& p : v.problems) all += p + "\n";
  EXPECT_THAT(all, HasSubstr("model/svm/model.bin: checksum differs"));
  EXPECT_THAT(all, HasSubstr("stray.txt: not listed in the manifest"));
  EXPECT_THAT(all, HasSubstr("config/chatbot.toml: missing"));
}

TEST_F(BackupTest, VerifyNoticesATruncatedDatabase) {
  const BackupResult result = Backup();
  const fs::path db = result.dir / "sessions" / "sessions.db";
  fs::resize_file(db, fs::file_size(db) / 2);
  const BackupVerification v = VerifyBackup(result.dir);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.problems.front(), HasSubstr("sessions/sessions.db"));
  EXPECT_FALSE(VerifyBackup(dir_.path() / "nothing-here").ok());
}

TEST_F(BackupTest, ListsResolvesAndPrunes) {
  Backup("20240101T000000Z");
  Backup("20250101T000000Z");
  Backup("20260101T000000Z");
  const BackupResult same_second = Backup("20260101T000000Z");
  EXPECT_EQ(same_second.name, "20260101T000000Z-2");
  fs::create_directories(root_ / "not-a-backup");
  std::vector<BackupSummary> list = ListBackups(root_);
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0].name, "20240101T000000Z");
  EXPECT_EQ(list[0].sessions, 20);
  EXPECT_THAT(list[0].roles, ::testing::Contains("model/svm"));
  EXPECT_EQ(list[3].name, "20260101T000000Z-2");
  EXPECT_THAT(list[4].problem, HasSubstr("no manifest.json"));
  EXPECT_EQ(ResolveBackup(root_, "latest"), root_ / "20260101T000000Z-2");
  EXPECT_EQ(ResolveBackup(root_, "20250101T000000Z"), root_ / "20250101T000000Z");
  EXPECT_THROW(ResolveBackup(root_, "19990101T000000Z"), DataError);
  EXPECT_THROW(ResolveBackup(dir_.path() / "empty", "latest"), DataError);

  EXPECT_EQ(PruneBackups(root_, 2, 0, ""),
            (std::vector<std::string>{"20240101T000000Z", "20250101T000000Z"}));
  // By age: they were all created just now, so none is old enough...
  EXPECT_TRUE(PruneBackups(root_, 0, 3600, "").empty());
  // ...but with a tiny limit every one but the newest (and the protected) goes.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // times are in whole seconds
  EXPECT_EQ(PruneBackups(root_, 0, 1, "").size(), 1u);
  list = ListBackups(root_);
  ASSERT_EQ(list.size(), 2u);  // the newest, and the folder that is not a backup
  EXPECT_EQ(list[0].name, "20260101T000000Z-2");
}

TEST_F(BackupTest, RestoreBringsBackEverythingAfterTheDataIsGone) {
  const auto before = Snapshot();
  const BackupResult result = Backup();
  fs::remove_all(data_);
  fs::remove_all(dir_.path() / "model");
  fs::remove(config_);
  RestoreOptions options;
  options.backup = result.dir;
  options.targets = Targets();
  const RestoreResult restored = RestoreBackup(options);
  EXPECT_EQ(restored.restored.size(), 4u);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(fs::status(keys_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // The restored database is the service's again: it opens and takes turns.
  auto store = store::SqliteSessionStore::Open(sessions_, false);
  store->AppendTurn("session-3", MakeTurn(4), "{}");
  EXPECT_EQ(store->GetSession("session-3", false)->summary.turn_count, 4);
}

TEST_F(BackupTest, RestoreReplacesNewerDataAndItsWal) {
  const auto before = Snapshot();
  const BackupResult result = Backup();
  // Newer sessions, left in the WAL as a killed service leaves them: the
  // child never closes its connection.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = store::SqliteSessionStore::Open(sessions_, false);
    for (int i = 0; i < 50; ++i) store->CreateSession("newer-" + std::to_string(i), 9000 + i);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  const fs::path wal = sessions_.string() + "-wal";
  ASSERT_TRUE(fs::exists(wal));
  ASSERT_GT(fs::file_size(wal), 0u);

  RestoreOptions options;
  options.backup = result.dir;
  options.targets = Targets();
  RestoreBackup(options);
  EXPECT_FALSE(fs::exists(wal));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BackupTest, ADamagedBackupIsRefusedAndNothingChanges) {
  const BackupResult result = Backup();
  {
    auto store = store::SqliteSessionStore::Open(sessions_, false);
    store->CreateSession("after-backup", 9000);
  }
  const auto current = Snapshot();
  FlipByte(result.dir / "sessions" / "sessions.db", 5000);
  RestoreOptions options;
  options.backup = result.dir;
  options.targets = Targets();
  try {
    RestoreBackup(options);
    FAIL() << "a damaged backup was restored";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is damaged; nothing restored"));
    EXPECT_THAT(e.what(), HasSubstr("sessions/sessions.db: checksum differs"));
  }
  EXPECT_EQ(Snapshot(), current);
}

TEST_F(BackupTest, AFailureHalfWayIsRolledBack) {
  const BackupResult result = Backup();
  {
    auto store = store::SqliteSessionStore::Open(sessions_, false);
    store->CreateSession("after-backup", 9000);
  }
  std::ofstream(config_) << "[bot]\nname = \"Changed\"\n";
  nlu::WriteModelDirectory(model_, {{"model.bin", "retrained"}}, {{"format", "test-model"}});
  const auto current = Snapshot();
  for (int fail_after : {1, 2, 3, 4}) {
    RestoreOptions options;
    options.backup = result.dir;
    options.targets = Targets();
    options.fail_after_swaps = fail_after;
    EXPECT_THROW(RestoreBackup(options), IoError) << fail_after;
    EXPECT_EQ(Snapshot(), current) << "after a failure at swap " << fail_after;
  }
  // Nothing staged is left behind beside the targets.
  for (const fs::path& dir :
       {sessions_.parent_path(), model_.parent_path(), config_.parent_path()}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".restore-")));
    }
  }
}

TEST_F(BackupTest, TargetsOfItemsNotBackedUpAreLeftAlone) {
  const BackupResult result = Backup();
  RestoreOptions options;
  options.backup = result.dir;
  options.targets = Targets();
  options.targets.push_back({"model/bert", dir_.path() / "model" / "bert"});
  fs::create_directories(dir_.path() / "model" / "bert");
  std::ofstream(dir_.path() / "model" / "bert" / "keep.txt") << "mine";
  const RestoreResult restored = RestoreBackup(options);
  EXPECT_TRUE(fs::exists(dir_.path() / "model" / "bert" / "keep.txt"));
  std::string skipped;
  for (const std::string& s : restored.skipped) skipped += s + "\n";
  EXPECT_THAT(skipped, HasSubstr("model/bert: not in the backup"));
  EXPECT_THAT(skipped, HasSubstr("admin_key: not in the backup"));
}

TEST(DataLockTest, ServicesShareRestoreExcludes) {
  TempDir dir;
  const fs::path lock_path = DataLock::PathFor(dir.path() / "sessions" / "sessions.db");
  EXPECT_EQ(lock_path, dir.path() / "sessions" / "serve.lock");
  EXPECT_EQ(DataLock::Holder(lock_path), 0);

  // A "service" in a child process holds the shared lock until told to go.
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = DataLock::AcquireShared(lock_path);
    char c = 'r';
    (void)!write(from_child[1], &c, 1);
    (void)!read(to_child[0], &c, 1);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(from_child[0], &c, 1), 1);
  EXPECT_EQ(DataLock::Holder(lock_path), child);
  pid_t holder = 0;
  EXPECT_EQ(DataLock::TryAcquireExclusive(lock_path, &holder), nullptr);
  EXPECT_EQ(holder, child);
  // Another service may share it.
  EXPECT_NE(DataLock::AcquireShared(lock_path), nullptr);
  (void)!write(to_child[1], "x", 1);
  int status = 0;
  waitpid(child, &status, 0);

  // Restore holds it: a service may not start.
  auto exclusive = DataLock::TryAcquireExclusive(lock_path, &holder);
  ASSERT_NE(exclusive, nullptr);
  const pid_t service = fork();
  if (service == 0) {
    try {
      DataLock::AcquireShared(lock_path);
      _exit(0);
    } catch (const IoError& e) {
      _exit(std::string(e.what()).find("a restore is replacing the data") != std::string::npos ? 3
                                                                                               : 4);
    }
  }
  waitpid(service, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

}  // namespace
}  // namespace chatbot::ops
