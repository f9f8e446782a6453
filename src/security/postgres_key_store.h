// The keys store in a PostgreSQL database shared by every instance
// (docs/configuration.md, "The PostgreSQL backend"): keys, usage counters
// and the lockdown state, on a small connection pool (db/pg_pool.h).
//
// DataVersion: every change of a key or of the lockdown bumps a counter row
// in the same transaction; a store reports the counter less its own bumps,
// so it moves when someone else committed a change (the SQLite store's
// PRAGMA data_version semantics). Usage counters do not bump it: they are
// written every few seconds by every instance and change no decision.
//
// The same transaction sends NOTIFY chatbot_keys (kChangesChannel), so that
// every instance listening (server/cluster_sync.h) reloads its key table at
// once instead of waiting for its next poll.
#ifndef CHATBOT_SECURITY_POSTGRES_KEY_STORE_H_
#define CHATBOT_SECURITY_POSTGRES_KEY_STORE_H_

#include <atomic>

#include "db/pg_migrations.h"
#include "security/key_store.h"

namespace chatbot::security {

class PostgresKeyStore final : public KeyStore {
 public:
  static constexpr int64_t kSchemaVersion = 1;
  // Notified (payload: the new version) by every committed key or lockdown change.
  static constexpr const char* kChangesChannel = "chatbot_keys";

  // Connects and migrates (component "keys"). Throws StoreUnavailable
  // naming the server when it cannot be reached.
  explicit PostgresKeyStore(const db::PgOptions& options);

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
  // "postgresql://host:port/database" (no credentials).
  const std::filesystem::path& path() const override { return path_; }

 private:
  // Bumps the version inside `connection`'s open transaction.
  void BumpVersion(db::PgConnection& connection);

  db::PgComponentPool pool_;
  const std::filesystem::path path_;
  std::atomic<int64_t> own_changes_{0};
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_POSTGRES_KEY_STORE_H_
