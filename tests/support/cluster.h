// A whole cluster on loopback for the multi-instance tests (docs/scaling.md):
// a database of its own on the test binary's throwaway PostgreSQL server
// (postgres_server.h), a redis-server of its own, three real `chatbot serve`
// instances with store.backend = postgres and the Redis rate limiter, and
// nginx on the shipped deploy/nginx/chatbot.conf in front of them. Every
// process listens on an ephemeral 127.0.0.1 port and is stopped by its PID
// when the cluster is destroyed.
//
//   if (const std::string why = Cluster::Unavailable(); !why.empty()) CHATBOT_SKIP(why);
//   Cluster cluster;                     // everything started and ready
//   auto via_nginx = cluster.Connect(cluster.size());
//   auto direct = cluster.Connect(1);
//
// The instances run on fixed ports, so one killed or stopped can be started
// again where nginx expects it (Restart). They trust nginx as their proxy,
// serve anonymous loopback clients, and share one admin key (AdminKey).
#ifndef CHATBOT_TESTS_SUPPORT_CLUSTER_H_
#define CHATBOT_TESTS_SUPPORT_CLUSTER_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "http_client.h"
#include "nginx_server.h"
#include "postgres_server.h"
#include "redis_server.h"
#include "server_process.h"
#include "temp_dir.h"

namespace chatbot::testing {

struct ClusterOptions {
  int instances = 3;
  // security.rate_limit_redis_down_policy: local or closed.
  std::string redis_down_policy = "local";
  // More `--set` arguments for every instance (after the cluster's own).
  std::vector<std::string> instance_args;
};

class Cluster {
 public:
  // Why a cluster cannot be started on this machine (PostgreSQL 15,
  // redis-server or nginx missing, or the shared PostgreSQL server failed);
  // empty when it can.
  static std::string Unavailable();

  // Starts everything; throws std::runtime_error naming what did not start.
  explicit Cluster(ClusterOptions options = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int size() const { return static_cast<int>(instances_.size()); }
  ServerProcess& instance(int i) { return *instances_.at(i); }
  uint16_t nginx_port() const { return nginx_->port(); }
  NginxServer& nginx() { return *nginx_; }
  RedisServer& redis() { return redis_; }
  // The libpq connection string of the cluster's database.
  const std::string& database_url() const { return database_url_; }

  // A client of instance `i` directly (0 <= i < size()) or of nginx
  // (i == size()). Direct clients connect from 127.0.0.2: a request from
  // 127.0.0.1, nginx's address, without X-Forwarded-For names no client.
  std::unique_ptr<HttpClient> Connect(int i,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Starts instance `i` again on its port after it was killed or stopped.
  void Restart(int i);
  // The admin key the first instance created on its first start.
  std::string AdminKey() const;
  // Instance `i`'s api.log (one JSON line per request, flushed each second).
  std::filesystem::path ApiLog(int i) const;
  // For assertion messages: every instance's output and nginx's error log.
  std::string Describe() const;

 private:
  ClusterOptions options_;
  test_support::TempDir work_{"chatbot-cluster"};
  std::string database_url_;
  RedisServer redis_;
  std::vector<std::unique_ptr<ServerProcess>> instances_;
  std::unique_ptr<NginxServer> nginx_;
};

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_SUPPORT_CLUSTER_H_
