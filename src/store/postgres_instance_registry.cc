#include "store/postgres_instance_registry.h"

#include "common/time.h"
#include "db/pg_migrations.h"

namespace chatbot::store {
namespace {

using db::PgParams;
using db::PgResult;
using db::PgStatement;

const std::vector<db::PgMigration> kClusterMigrations = {{1, R"sql(
CREATE TABLE cluster_instances(
  instance_id TEXT COLLATE "C" PRIMARY KEY,
  address TEXT NOT NULL,
  model_version TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  heartbeat_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE cluster_model(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL,
  generation BIGINT NOT NULL,
  published_at_ms BIGINT NOT NULL,
  published_by TEXT NOT NULL
);
)sql"}};

// Times by the database server's clock, so that the machines' clocks need
// not agree.
constexpr const char* kNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

const PgStatement kHeartbeat{
    "cluster_heartbeat",
    "INSERT INTO cluster_instances(instance_id, address, model_version, started_at_ms, "
    "heartbeat_at) VALUES($1, $2, $3, $4, clock_timestamp()) ON CONFLICT(instance_id) DO UPDATE "
    "SET address = $2, model_version = $3, heartbeat_at = clock_timestamp()"};
const PgStatement kForget{
    "cluster_forget",
    "DELETE FROM cluster_instances WHERE heartbeat_at < clock_timestamp() - $3::double precision * "
    "interval '1 millisecond' "
    "OR (address = $2 AND instance_id <> $1 AND "
    "heartbeat_at < clock_timestamp() - $4::double precision * interval '1 millisecond')"};
const PgStatement kRemove{"cluster_remove", "DELETE FROM cluster_instances WHERE instance_id = $1"};
const PgStatement kList{"cluster_list",
                        std::string("SELECT instance_id, address, model_version, started_at_ms, "
                                    "(extract(epoch FROM heartbeat_at) * 1000)::bigint, ") +
                            kNowMs + " FROM cluster_instances ORDER BY address, instance_id"};
const PgStatement kGetModel{
    "cluster_get_model",
    "SELECT version, generation, published_at_ms, published_by FROM cluster_model WHERE id = 1"};
// The notification is delivered when the transaction commits.
const PgStatement kPublish{
    "cluster_publish",
    std::string("WITH published AS (INSERT INTO cluster_model(id, version, generation, "
                "published_at_ms, published_by) VALUES(1, $1, 1, $2, $3) ON CONFLICT(id) DO "
                "UPDATE SET version = $1, generation = cluster_model.generation + 1, "
                "published_at_ms = $2, published_by = $3 RETURNING generation) "
                "SELECT generation, pg_notify('") +
        PostgresInstanceRegistry::kModelChannel + "', $1) FROM published"};
const PgStatement kPublishIfNone{
    "cluster_publish_if_none",
    std::string("WITH published AS (INSERT INTO cluster_model(id, version, generation, "
                "published_at_ms, published_by) VALUES(1, $1, 1, $2, $3) ON CONFLICT(id) DO "
                "NOTHING RETURNING generation) SELECT generation, pg_notify('") +
        PostgresInstanceRegistry::kModelChannel + "', $1) FROM published"};

}  // namespace

PostgresInstanceRegistry::PostgresInstanceRegistry(const db::PgOptions& options)
    : pool_(options, "cluster", kClusterMigrations) {}

void PostgresInstanceRegistry::Heartbeat(const InstanceInfo& self, int64_t stale_after_ms) {
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection);
  connection->Run(
      kHeartbeat,
      PgParams().Text(self.id).Text(self.address).Text(self.model_version).Int(self.started_at_ms),
      "record the instance's heartbeat");
  connection->Run(
      kForget,
      PgParams().Text(self.id).Text(self.address).Int(kForgetInstanceAfterMs).Int(stale_after_ms),
      "forget gone instances");
  transaction.Commit();
}

void PostgresInstanceRegistry::Remove(const std::string& id) {
  pool_.Run(kRemove, PgParams().Text(id), "remove the instance");
}

std::vector<InstanceStatus> PostgresInstanceRegistry::List() {
  const PgResult rows = pool_.Run(kList, PgParams(), "list instances");
  std::vector<InstanceStatus> out;
  for (int i = 0; i < rows.rows(); ++i) {
    InstanceStatus& s = out.emplace_back();
    s.info.id = rows.Text(i, 0);
    s.info.address = rows.Text(i, 1);
    s.info.model_version = rows.Text(i, 2);
    s.info.started_at_ms = rows.Int(i, 3);
    s.heartbeat_at_ms = rows.Int(i, 4);
    const int64_t now_ms = rows.Int(i, 5);
    s.heartbeat_age_ms = std::max<int64_t>(0, now_ms - s.heartbeat_at_ms);
    s.uptime_ms = std::max<int64_t>(0, now_ms - s.info.started_at_ms);
  }
  return out;
}

std::optional<ServingModel> PostgresInstanceRegistry::GetServingModel() {
  const PgResult rows = pool_.Run(kGetModel, PgParams(), "read the serving model");
  if (rows.rows() == 0) return std::nullopt;
  return ServingModel{rows.Text(0, 0), rows.Int(0, 1), rows.Int(0, 2), rows.Text(0, 3)};
}

ServingModel PostgresInstanceRegistry::Publish(const std::string& version, const std::string& by,
                                               bool replace) {
  {
    pool_.Run(replace ? kPublish : kPublishIfNone, PgParams().Text(version).Int(NowMs()).Text(by),
              "publish the model version");
  }
  // Read back: with IfNone, what another instance may have published first.
  return GetServingModel().value_or(ServingModel{version, 0, 0, by});
}

}  // namespace chatbot::store
