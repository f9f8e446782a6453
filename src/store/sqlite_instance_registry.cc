#include "store/sqlite_instance_registry.h"

#include "common/time.h"
#include "db/sqlite_statement.h"

namespace chatbot::store {
namespace {

using db::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE instances(
  instance_id TEXT PRIMARY KEY NOT NULL,
  address TEXT NOT NULL,
  model_version TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  heartbeat_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE serving_model(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL,
  generation INTEGER NOT NULL,
  published_at_ms INTEGER NOT NULL,
  published_by TEXT NOT NULL
);
)sql";

}  // namespace

SqliteInstanceRegistry::SqliteInstanceRegistry(const std::filesystem::path& path)
    : path_(path.string()),
      db_(db::OpenDatabase(path, {
                                     .kind = "instance registry",
                                     .application_id = kApplicationId,
                                     .migrations = {{1, kSchema}},
                                     .synchronous = "NORMAL",
                                 })) {}

void SqliteInstanceRegistry::Heartbeat(const InstanceInfo& self, int64_t stale_after_ms) {
  std::lock_guard lock(mu_);
  const int64_t now = NowMs();
  db::Transaction transaction(db_.get(), path_, "record the instance's heartbeat");
  Statement upsert(db_.get(), path_, "record the instance's heartbeat",
                   "INSERT INTO instances(instance_id, address, model_version, started_at_ms, "
                   "heartbeat_at_ms) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(instance_id) DO "
                   "UPDATE SET address = ?2, model_version = ?3, heartbeat_at_ms = ?5");
  upsert.BindAll(self.id, self.address, self.model_version, self.started_at_ms, now);
  upsert.Run();
  Statement forget(db_.get(), path_, "forget gone instances",
                   "DELETE FROM instances WHERE heartbeat_at_ms < ?3 OR (address = ?2 AND "
                   "instance_id <> ?1 AND heartbeat_at_ms < ?4)");
  forget.BindAll(self.id, self.address, now - kForgetInstanceAfterMs, now - stale_after_ms);
  forget.Run();
  transaction.Commit();
}

void SqliteInstanceRegistry::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  Statement s(db_.get(), path_, "remove the instance",
              "DELETE FROM instances WHERE instance_id = ?1");
  s.BindAll(id);
  s.Run();
}

std::vector<InstanceStatus> SqliteInstanceRegistry::List() {
  std::lock_guard lock(mu_);
  const int64_t now = NowMs();
  Statement s(db_.get(), path_, "list instances",
              "SELECT instance_id, address, model_version, started_at_ms, heartbeat_at_ms "
              "FROM instances ORDER BY address, instance_id");
  std::vector<InstanceStatus> out;
  while (s.Step()) {
    InstanceStatus& r = out.emplace_back();
    r.info.id = s.ColumnText(0);
    r.info.address = s.ColumnText(1);
    r.info.model_version = s.ColumnText(2);
    r.info.started_at_ms = s.ColumnInt64(3);
    r.heartbeat_at_ms = s.ColumnInt64(4);
    r.heartbeat_age_ms = std::max<int64_t>(0, now - r.heartbeat_at_ms);
    r.uptime_ms = std::max<int64_t>(0, now - r.info.started_at_ms);
  }
  return out;
}

std::optional<ServingModel> SqliteInstanceRegistry::ServingModelLocked() {
  Statement s(db_.get(), path_, "read the serving model",
              "SELECT version, generation, published_at_ms, published_by FROM serving_model "
              "WHERE id = 1");
  if (!s.Step()) return std::nullopt;
  return ServingModel{s.ColumnText(0), s.ColumnInt64(1), s.ColumnInt64(2), s.ColumnText(3)};
}

std::optional<ServingModel> SqliteInstanceRegistry::GetServingModel() {
  std::lock_guard lock(mu_);
  return ServingModelLocked();
}

ServingModel SqliteInstanceRegistry::Publish(const std::string& version, const std::string& by,
                                             bool replace) {
  std::lock_guard lock(mu_);
  Statement s(db_.get(), path_, "publish the model version",
              replace ? "INSERT INTO serving_model(id, version, generation, published_at_ms, "
                        "published_by) VALUES(1, ?1, 1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET "
                        "version = ?1, generation = generation + 1, published_at_ms = ?2, "
                        "published_by = ?3"
                      : "INSERT INTO serving_model(id, version, generation, published_at_ms, "
                        "published_by) VALUES(1, ?1, 1, ?2, ?3) ON CONFLICT(id) DO NOTHING");
  s.BindAll(version, NowMs(), by);
  s.Run();
  return ServingModelLocked().value_or(ServingModel{version, 0, 0, by});
}

}  // namespace chatbot::store
