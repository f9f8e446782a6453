// How an instance keeps in step with the others that share its PostgreSQL
// store (docs/scaling.md, "How changes reach every instance"), and how it
// records itself for GET /v1/admin/cluster and `chatbot cluster status`:
//
// - Key and lockdown changes: every committed change sends NOTIFY
//   chatbot_keys (security/postgres_key_store.h); the listener reloads the
//   key table at once (AccessControl::Refresh), so the next request on any
//   connection, keep-alive ones included, sees it.
// - The model: a reload asked of any instance (POST /v1/model/reload,
//   SIGHUP) publishes the version it now serves in the database and sends
//   NOTIFY chatbot_model (store/postgres_instance_registry.h); every other
//   instance whose version differs reloads from the shared models directory
//   with the registry's atomic swap (no request fails) and so serves the
//   same version.
// - One dedicated listener connection per instance (db/pg_listener.h),
//   reconnecting by itself; after each (re)connection, and every [cluster]
//   resync_s in any case, the keys and the published version are read
//   again, so a notification lost while the connection was down is made up
//   for.
// - Heartbeats: every [cluster] heartbeat_ms the instance writes its row
//   (id, address, model version, start); a clean stop deletes it.
//
// With SQLite (one machine) only the heartbeats run, into the local
// registry file: the key table keeps its [security] refresh_ms poll and the
// model changes only when this instance is reloaded.
#ifndef CHATBOT_SERVER_CLUSTER_SYNC_H_
#define CHATBOT_SERVER_CLUSTER_SYNC_H_

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/config.h"
#include "db/pg_listener.h"
#include "security/access_control.h"
#include "server/model_registry.h"
#include "store/instance_registry.h"

namespace chatbot::server {

class ClusterSync {
 public:
  // `address`: how the others reach this instance (host:port);
  // `started_at_ms`: when the process started (Unix ms). `models` and
  // `access` are not owned and outlive this object. Opens nothing yet.
  ClusterSync(const Settings& settings, std::string address, int64_t started_at_ms,
              ModelRegistry* models, security::AccessControl* access);
  ~ClusterSync();
  ClusterSync(const ClusterSync&) = delete;
  ClusterSync& operator=(const ClusterSync&) = delete;

  // Opens the registry, records the first heartbeat, publishes this
  // instance's model when no version was ever published, and starts the
  // heartbeat thread (and, with PostgreSQL, the listener). Throws
  // StoreError when the registry cannot be opened.
  void Start();
  // Stops the threads and deletes this instance's row. Idempotent.
  void Stop();

  // GET /v1/admin/cluster. Throws StoreError.
  boost::json::object StatusJson();

  const std::string& instance_id() const { return self_.id; }
  const std::string& address() const { return self_.address; }

 private:
  void Run();
  void Heartbeat();
  // Reloads when the published version is not the one served.
  void Converge();
  void PublishPending();
  void Wake();

  const Settings settings_;
  const bool postgres_;
  ModelRegistry* const models_;
  security::AccessControl* const access_;
  store::InstanceInfo self_;
  std::unique_ptr<store::InstanceRegistry> registry_;
  std::unique_ptr<db::PgListener> listener_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                                   // guarded by mu_
  bool converge_now_ = false;                               // guarded by mu_
  std::optional<std::string> publish_;                      // a version to publish; guarded by mu_
  int64_t followed_generation_ = -1;                        // the worker thread's
  std::chrono::steady_clock::time_point last_error_log_{};  // the worker thread's
  std::thread thread_;
};

// host:port from [cluster] address, or [server] host (this machine's name
// for a wildcard address) and `port`.
std::string InstanceAddress(const Settings& settings, uint16_t port);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_CLUSTER_SYNC_H_
