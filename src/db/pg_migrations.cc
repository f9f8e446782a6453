#include "db/pg_migrations.h"

namespace chatbot::db {
namespace {

// The advisory lock's key: "CHBT", shared by every component so that
// migrations of one database never run side by side.
constexpr const char* kLockKey = "1128808020";

// Unlocks on every way out; when the connection broke, the server released
// the lock with the session.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(PgConnection& connection) : connection_(connection) {
    connection_.Execute(std::string("SELECT pg_advisory_lock(") + kLockKey + ")",
                        "take the migration lock");
  }
  ~AdvisoryLock() {
    if (connection_.broken()) return;
    try {
      connection_.Execute(std::string("SELECT pg_advisory_unlock(") + kLockKey + ")",
                          "release the migration lock");
    } catch (const StoreError&) {
      // Released when the pool drops the connection.
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  PgConnection& connection_;
};

}  // namespace

void ApplyMigrations(PgPool& pool, const std::string& component,
                     const std::vector<PgMigration>& migrations) {
  PgLease connection = pool.Acquire();
  AdvisoryLock lock(*connection);
  connection->Execute(
      "CREATE TABLE IF NOT EXISTS chatbot_schema(component TEXT PRIMARY KEY, "
      "version BIGINT NOT NULL)",
      "create the schema version table");
  const PgResult current =
      connection->Execute("SELECT version FROM chatbot_schema WHERE component = $1",
                          PgParams().Text(component), "read the schema version");
  const int64_t version = current.rows() > 0 ? current.Int(0, 0) : 0;
  const int64_t latest = migrations.empty() ? 0 : migrations.back().version;
  if (version > latest) {
    throw StoreError("PostgreSQL " + pool.server() + ": " + component + " schema version " +
                     std::to_string(version) + " is newer than this program's (" +
                     std::to_string(latest) + "); upgrade the program");
  }
  for (const PgMigration& migration : migrations) {
    if (migration.version <= version) continue;
    const std::string what =
        component + " schema migration to version " + std::to_string(migration.version);
    PgTransaction transaction(*connection);
    connection->Execute(migration.sql, what);
    connection->Execute(
        "INSERT INTO chatbot_schema(component, version) VALUES($1, $2) "
        "ON CONFLICT(component) DO UPDATE SET version = EXCLUDED.version",
        PgParams().Text(component).Int(migration.version), what);
    transaction.Commit();
  }
}

PgComponentPool::PgComponentPool(PgOptions options, const std::string& component,
                                 const std::vector<PgMigration>& migrations)
    : PgPool(std::move(options)) {
  ApplyMigrations(*this, component, migrations);
}

PgResult PgComponentPool::Run(const PgStatement& statement, const PgParams& params,
                              std::string_view operation) {
  return Acquire()->Run(statement, params, operation);
}

}  // namespace chatbot::db
