// The instance registry (instance_registry.h) of one machine: the instance
// itself, in a small SQLite file (instance.db in [paths] logs), so that
// `chatbot cluster status` run beside it lists it as GET /v1/admin/cluster
// does. The serving model row is kept too, but nothing follows it: with
// SQLite every instance is a service of its own.
#ifndef CHATBOT_STORE_SQLITE_INSTANCE_REGISTRY_H_
#define CHATBOT_STORE_SQLITE_INSTANCE_REGISTRY_H_

#include <filesystem>
#include <mutex>

#include "db/sqlite_database.h"
#include "store/instance_registry.h"

namespace chatbot::store {

class SqliteInstanceRegistry final : public InstanceRegistry {
 public:
  static constexpr int64_t kApplicationId = 0x43424943;  // "CBIC"

  // Opens or creates the file. Throws StoreError naming it.
  explicit SqliteInstanceRegistry(const std::filesystem::path& path);

  void Heartbeat(const InstanceInfo& self, int64_t stale_after_ms) override;
  void Remove(const std::string& id) override;
  std::vector<InstanceStatus> List() override;
  std::optional<ServingModel> GetServingModel() override;
  std::string backend() const override { return "sqlite"; }
  std::string where() const override { return path_; }

 private:
  ServingModel Publish(const std::string& version, const std::string& by, bool replace) override;
  std::optional<ServingModel> ServingModelLocked();

  const std::string path_;
  std::mutex mu_;
  db::Connection db_;  // guarded by mu_
};

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SQLITE_INSTANCE_REGISTRY_H_
