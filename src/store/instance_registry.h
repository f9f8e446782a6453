// Where the instances of a service record themselves and the model version
// they should all serve (docs/scaling.md, "Instances and their model"):
// each instance writes a heartbeat row (its id, the address it listens on,
// the model version it serves, its start) every [cluster] heartbeat_ms, and
// GET /v1/admin/cluster and `chatbot cluster status` read them back.
//
// PostgresInstanceRegistry keeps them in the shared database, with the row
// naming the serving model version that every instance converges on;
// SqliteInstanceRegistry keeps the one local instance in a small file of
// its own (one machine, nothing to converge).
#ifndef CHATBOT_STORE_INSTANCE_REGISTRY_H_
#define CHATBOT_STORE_INSTANCE_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"

namespace chatbot::store {

// What an instance says of itself at each heartbeat.
struct InstanceInfo {
  std::string id;       // drawn at start: 16 hex digits
  std::string address;  // host:port it listens on, as other machines reach it
  std::string model_version;
  int64_t started_at_ms = 0;  // Unix ms
};

// A row as read back, its times measured by the registry's clock (the
// database server's for PostgreSQL), so that instances on machines whose
// clocks disagree are compared alike.
struct InstanceStatus {
  InstanceInfo info;
  int64_t heartbeat_at_ms = 0;   // Unix ms of the last heartbeat
  int64_t heartbeat_age_ms = 0;  // how long ago that was
  int64_t uptime_ms = 0;
};

// The model version every instance should serve: published by an instance
// that loaded it on request (POST /v1/model/reload, SIGHUP). `generation`
// grows by one with every publication, the same version again included.
struct ServingModel {
  std::string version;
  int64_t generation = 0;
  int64_t published_at_ms = 0;
  std::string published_by;  // the instance's address
};

// An instance silent for longer than this is forgotten (its row deleted) by
// the next heartbeat of any instance.
inline constexpr int64_t kForgetInstanceAfterMs = 3'600'000;

class InstanceRegistry {
 public:
  virtual ~InstanceRegistry() = default;

  // Records `self` with the time now, and forgets rows of instances gone
  // for kForgetInstanceAfterMs, and earlier instances at the same address
  // silent for `stale_after_ms` (the same instance, restarted). Throws
  // StoreError.
  virtual void Heartbeat(const InstanceInfo& self, int64_t stale_after_ms) = 0;
  // Deletes the row of an instance that stops.
  virtual void Remove(const std::string& id) = 0;
  // Every recorded instance, by address.
  virtual std::vector<InstanceStatus> List() = 0;

  virtual std::optional<ServingModel> GetServingModel() = 0;
  // Names `version` the one to serve and tells every instance (NOTIFY on
  // PostgreSQL). Returns what was recorded.
  ServingModel PublishModel(const std::string& version, const std::string& by) {
    return Publish(version, by, /*replace=*/true);
  }
  // Names `version` only when no version was ever published (the first
  // instance of a new cluster); returns what is recorded after.
  ServingModel PublishModelIfNone(const std::string& version, const std::string& by) {
    return Publish(version, by, /*replace=*/false);
  }

  // "postgres" or "sqlite".
  virtual std::string backend() const = 0;
  // The database or file, for messages.
  virtual std::string where() const = 0;

 protected:
  // Both publications; `replace` false: only when none was ever published.
  virtual ServingModel Publish(const std::string& version, const std::string& by, bool replace) = 0;
};

// The registry of the configured store.backend: the [store] PostgreSQL
// database, or the file instance.db in [paths] logs (each instance of one
// machine has its own logs). Throws StoreError naming the server or file.
std::unique_ptr<InstanceRegistry> OpenInstanceRegistry(const Settings& settings);

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_INSTANCE_REGISTRY_H_
