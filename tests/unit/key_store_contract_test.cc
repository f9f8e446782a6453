// The KeyStore contract on every backend (store_backends.h): records
// round-trip, Modify is one transaction, usage adds up, lockdown persists,
// another connection's commit is visible through DataVersion; and, for
// SQLite, that the file is private and foreign files are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "security/key_store.h"
#include "store_backends.h"
#include "temp_dir.h"

namespace chatbot::security {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

KeyRecord Sample(const std::string& id) {
  KeyRecord r;
  r.id = id;
  r.name = "shop frontend";
  r.role = Role::kOperator;
  r.secret_hash = HashSecret(id, "secret");
  r.created_at_ms = 1000;
  r.created_by = "cli root@host";
  r.expires_at_ms = 5000;
  r.allow = {"10.0.0.0/8", "2001:db8::/32"};
  r.rate_limit = 12.5;
  r.burst = 30;
  return r;
}

class KeyStoreContractTest : public ::testing::TestWithParam<test_support::Backend> {
 protected:
  void SetUp() override { CHATBOT_PREPARE_STORE_OR_SKIP(location_); }

  test_support::StoreLocation location_{GetParam()};
};

TEST_P(KeyStoreContractTest, RecordsRoundTrip) {
  auto store = location_.OpenKeys();
  EXPECT_TRUE(store->List().empty());
  ASSERT_TRUE(store->Insert(Sample("00000000000000a1")));
  EXPECT_FALSE(store->Insert(Sample("00000000000000a1")));  // id taken
  const std::optional<KeyRecord> got = store->Get("00000000000000a1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "shop frontend");
  EXPECT_EQ(got->role, Role::kOperator);
  EXPECT_TRUE(HashEquals(got->secret_hash, HashSecret("00000000000000a1", "secret")));
  EXPECT_FALSE(got->previous_hash.has_value());
  EXPECT_EQ(got->expires_at_ms, 5000);
  EXPECT_FALSE(got->revoked());
  EXPECT_EQ(got->allow, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
  EXPECT_EQ(got->rate_limit, 12.5);
  EXPECT_EQ(got->burst, 30);
  EXPECT_EQ(got->requests, 0);
  EXPECT_FALSE(store->Get("00000000000000a2").has_value());
}

TEST_P(KeyStoreContractTest, ModifyWritesSettingsButNotUsage) {
  auto store = location_.OpenKeys();
  ASSERT_TRUE(store->Insert(Sample("00000000000000b1")));
  store->AddUsage({{"00000000000000b1", 5, 2, 7000, "192.0.2.1"}});
  const std::optional<KeyRecord> changed = store->Modify("00000000000000b1", [](KeyRecord& r) {
    r.role = Role::kClient;
    r.requests = 999;  // ignored: usage is the service's
    r.revoked_at_ms = 8000;
    r.rate_limit.reset();
  });
  ASSERT_TRUE(changed.has_value());
  const KeyRecord r = *store->Get("00000000000000b1");
  EXPECT_EQ(r.role, Role::kClient);
  EXPECT_EQ(r.revoked_at_ms, 8000);
  EXPECT_FALSE(r.rate_limit.has_value());
  EXPECT_EQ(r.requests, 5);
  EXPECT_EQ(r.refused, 2);
  EXPECT_EQ(r.last_used_at_ms, 7000);
  EXPECT_EQ(r.last_used_address, "192.0.2.1");
  // An exception inside Modify writes nothing.
  EXPECT_THROW(store->Modify("00000000000000b1",
                             [](KeyRecord& k) {
                               k.name = "changed";
                               throw std::runtime_error("abort");
                             }),
               std::runtime_error);
  EXPECT_EQ(store->Get("00000000000000b1")->name, "shop frontend");
  EXPECT_FALSE(store->Modify("00000000000000b9", [](KeyRecord&) {}).has_value());
}

TEST_P(KeyStoreContractTest, UsageAddsUpAndKeepsTheLatestUse) {
  auto store = location_.OpenKeys();
  ASSERT_TRUE(store->Insert(Sample("00000000000000c1")));
  store->AddUsage({{"00000000000000c1", 3, 0, 2000, "192.0.2.1"}});
  store->AddUsage({{"00000000000000c1", 4, 1, 1500, "192.0.2.9"}});  // older: address kept
  store->AddUsage({{"00000000000000c1", 1, 0, 0, ""}});              // no use in the interval
  const KeyRecord r = *store->Get("00000000000000c1");
  EXPECT_EQ(r.requests, 8);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(r.last_used_at_ms, 2000);
  EXPECT_EQ(r.last_used_address, "192.0.2.1");
}

TEST_P(KeyStoreContractTest, LockdownPersistsAcrossConnections) {
  {
    auto store = location_.OpenKeys();
    EXPECT_FALSE(store->GetLockdown().on);
    store->SetLockdown({true, 1234, "cli root@host", "incident 42"});
  }
  auto again = location_.OpenKeys();
  const LockdownState state = again->GetLockdown();
  EXPECT_TRUE(state.on);
  EXPECT_EQ(state.since_ms, 1234);
  EXPECT_EQ(state.by, "cli root@host");
  EXPECT_EQ(state.reason, "incident 42");
}

TEST_P(KeyStoreContractTest, DataVersionMovesOnlyForOtherConnections) {
  auto service = location_.OpenKeys();
  auto cli = location_.OpenKeys();
  const int64_t v0 = service->DataVersion();
  ASSERT_TRUE(service->Insert(Sample("00000000000000d1")));
  EXPECT_EQ(service->DataVersion(), v0);  // its own commit
  ASSERT_TRUE(cli->Insert(Sample("00000000000000d2")));
  EXPECT_NE(service->DataVersion(), v0);
  EXPECT_EQ(service->List().size(), 2u);
  // Lockdown and modifications by another connection move it too.
  const int64_t v1 = service->DataVersion();
  cli->SetLockdown({true, 5, "cli", "drill"});
  const int64_t v2 = service->DataVersion();
  EXPECT_NE(v2, v1);
  ASSERT_TRUE(cli->Modify("00000000000000d1", [](KeyRecord& r) { r.name = "renamed"; }));
  EXPECT_NE(service->DataVersion(), v2);
}

// Many usage batches from several stores at once (instances flushing their
// counters together) add up exactly.
TEST_P(KeyStoreContractTest, ConcurrentUsageFlushesAddUp) {
  auto setup = location_.OpenKeys();
  ASSERT_TRUE(setup->Insert(Sample("00000000000000e1")));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([this] {
      auto store = location_.OpenKeys();
      for (int i = 0; i < 40; ++i) store->AddUsage({{"00000000000000e1", 2, 1, 100 + i, "x"}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  const KeyRecord r = *setup->Get("00000000000000e1");
  EXPECT_EQ(r.requests, 240);
  EXPECT_EQ(r.refused, 120);
  EXPECT_EQ(r.last_used_at_ms, 139);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyStoreContractTest,
                         ::testing::ValuesIn(test_support::kAllBackends),
                         test_support::BackendName);

TEST(SqliteKeyStoreTest, FileIsPrivateAndForeignDatabasesAreRefused) {
  TempDir dir;
  const fs::path path = dir.path() / "new" / "keys.db";
  KeyStore::Open(path);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(path.parent_path()).permissions() & fs::perms::all, fs::perms::owner_all);
  const fs::path text = dir.path() / "text.db";
  {
    std::FILE* f = std::fopen(text.c_str(), "w");
    for (int i = 0; i < 100; ++i) std::fputs("not a database at all\n", f);
    std::fclose(f);
  }
  try {
    KeyStore::Open(text);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(text.string()));
  }
}

}  // namespace
}  // namespace chatbot::security
