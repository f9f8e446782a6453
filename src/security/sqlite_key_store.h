// The keys store in one SQLite file (db/sqlite_database.h: WAL, migrations
// by version number). One connection behind a mutex; other processes open
// their own, WAL lets readers and the writer proceed together and
// busy_timeout makes writers wait their turn. DataVersion() is SQLite's
// PRAGMA data_version. A revocation must survive a power loss, so commits
// are synchronous=FULL (they are rare: management operations and a usage
// flush every few seconds).
#ifndef CHATBOT_SECURITY_SQLITE_KEY_STORE_H_
#define CHATBOT_SECURITY_SQLITE_KEY_STORE_H_

#include <mutex>

#include "db/sqlite_database.h"
#include "security/key_store.h"

namespace chatbot::security {

class SqliteKeyStore final : public KeyStore {
 public:
  static constexpr int64_t kSchemaVersion = 1;
  // PRAGMA application_id ("CBKS"): another program's database is refused.
  static constexpr int64_t kApplicationId = 0x43424b53;

  // Opens or creates the database (its directory with mode 0700, the file
  // with 0600). Throws StoreError naming the file.
  explicit SqliteKeyStore(const std::filesystem::path& path);

  std::vector<KeyRecord> List() override;
  std::optional<KeyRecord> Get(const std::string& id) override;
  bool Insert(const KeyRecord& record) override;
  int64_t InsertMany(const std::vector<KeyRecord>& records) override;
  std::optional<KeyRecord> Modify(const std::string& id,
                                  const std::function<void(KeyRecord&)>& change) override;
  void AddUsage(const std::vector<UsageDelta>& deltas) override;
  LockdownState GetLockdown() override;
  void SetLockdown(const LockdownState& state) override;
  int64_t DataVersion() override;
  const std::filesystem::path& path() const override { return path_; }

 private:
  const std::filesystem::path path_;
  const std::string path_string_;
  std::mutex mu_;
  db::Connection db_;  // guarded by mu_
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_SQLITE_KEY_STORE_H_
