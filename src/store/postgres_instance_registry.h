// The instance registry (instance_registry.h) in the PostgreSQL database
// every instance shares: the tables cluster_instances and cluster_model of
// the migration component "cluster". Publishing a model version sends
// NOTIFY chatbot_model (kModelChannel) in the same transaction, so that
// every listening instance (server/cluster_sync.h) hears of it at once.
#ifndef CHATBOT_STORE_POSTGRES_INSTANCE_REGISTRY_H_
#define CHATBOT_STORE_POSTGRES_INSTANCE_REGISTRY_H_

#include "db/pg_migrations.h"
#include "store/instance_registry.h"

namespace chatbot::store {

class PostgresInstanceRegistry final : public InstanceRegistry {
 public:
  // Notified (payload: the version) by every publication of a model version.
  static constexpr const char* kModelChannel = "chatbot_model";

  // Connects and migrates. Throws StoreUnavailable naming the server when
  // it cannot be reached.
  explicit PostgresInstanceRegistry(const db::PgOptions& options);

  void Heartbeat(const InstanceInfo& self, int64_t stale_after_ms) override;
  void Remove(const std::string& id) override;
  std::vector<InstanceStatus> List() override;
  std::optional<ServingModel> GetServingModel() override;
  std::string backend() const override { return "postgres"; }
  std::string where() const override { return "PostgreSQL " + pool_.server(); }

 private:
  ServingModel Publish(const std::string& version, const std::string& by, bool replace) override;

  db::PgComponentPool pool_;
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_POSTGRES_INSTANCE_REGISTRY_H_
