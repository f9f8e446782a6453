// The cluster as an operator sees it (`chatbot cluster status`, and GET
// /v1/admin/cluster in server/cluster_sync.h): the instances recorded in the
// instance registry (instance_registry.h), each live or gone by the age of
// its last heartbeat, and the model version they should serve.
#ifndef CHATBOT_STORE_CLUSTER_STATUS_H_
#define CHATBOT_STORE_CLUSTER_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "store/instance_registry.h"

namespace chatbot::store {

struct ClusterStatus {
  std::string backend;  // "postgres" or "sqlite"
  std::string where;    // the database or file
  int64_t stale_after_ms = 0;
  std::vector<InstanceStatus> instances;  // by address, gone ones included
  std::optional<ServingModel> serving;

  // No heartbeat for stale_after_ms: stopped without saying so (killed,
  // its machine gone) or cut off from the database.
  bool Live(const InstanceStatus& instance) const {
    return instance.heartbeat_age_ms <= stale_after_ms;
  }
  int live_count() const;
};

ClusterStatus ReadClusterStatus(InstanceRegistry& registry, int64_t stale_after_ms);

// What `chatbot cluster status` shows: the configured backend's registry
// ([cluster] stale_after_s). With SQLite, a file that does not exist yet
// (no instance ever ran with these settings) is not created: no instances.
// Throws StoreError naming the server or file.
ClusterStatus ReadClusterStatus(const Settings& settings);

// The table `chatbot cluster status` prints: the serving model, a row per
// instance (address, state, model version, uptime, last heartbeat's age),
// and the counts.
std::string ClusterStatusTable(const ClusterStatus& status);

// "3d 04h", "2h 05m", "4m 03s", "12s": an uptime for a person.
std::string UptimeText(int64_t ms);

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_CLUSTER_STATUS_H_
