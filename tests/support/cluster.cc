#include "cluster.h"

#include <stdexcept>

#include "free_port.h"
#include "process_runner.h"

namespace chatbot::testing {

namespace fs = std::filesystem;

std::string Cluster::Unavailable() {
  if (PostgresServer::BinDir().empty()) {
    return "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin; scripts/setup.sh)";
  }
  if (!RedisServer::Available()) return "redis-server is not installed (scripts/setup.sh)";
  if (NginxProgram().empty()) return "nginx is not installed (nginx-light; scripts/setup.sh)";
  std::string why;
  if (SharedPostgresServer(&why) == nullptr) return "PostgreSQL did not start: " + why;
  if (!SharedTrainedModel().ok)
    return "training the model failed: " + testing::Describe(SharedTrainedModel().training);
  return "";
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  std::string why;
  PostgresServer* postgres = SharedPostgresServer(&why);
  if (postgres == nullptr) throw std::runtime_error("cluster: PostgreSQL did not start: " + why);
  database_url_ = postgres->CreateDatabase();
  redis_.Start();

  // One after the other: the first creates the schema and the admin key,
  // the others find both.
  std::vector<std::string> addresses;  // as nginx names them
  for (int i = 0; i < options_.instances; ++i) {
    ServerOptions server;
    server.dir = work_.path() / ("instance-" + std::to_string(i + 1));
    fs::create_directories(server.dir);
    InstallSharedModel(server.dir);
    server.port = FreeLoopbackPort();
    server.extra_args = {
        "--set", "store.backend=postgres",
        "--set", "store.postgres_url=" + database_url_,
        "--set", "security.rate_limit_backend=redis",
        "--set", "security.rate_limit_redis_url=" + redis_.Url(),
        "--set", "security.rate_limit_redis_down_policy=" + options_.redis_down_policy,
        "--set", "security.rate_limit_instances=" + std::to_string(options_.instances),
        "--set", "security.trusted_proxies=127.0.0.1/32",
    };
    server.extra_args.insert(server.extra_args.end(), options_.instance_args.begin(),
                             options_.instance_args.end());
    instances_.push_back(std::make_unique<ServerProcess>(server));
    instances_.back()->Start();
    addresses.push_back("127.0.0.1:" + std::to_string(server.port));
  }

  nginx_ = std::make_unique<NginxServer>(ShippedLoadBalancer(work_.path() / "nginx", addresses));
  nginx_->Start();
}

Cluster::~Cluster() {
  // nginx first, so that it sends nothing to instances being stopped.
  nginx_.reset();
  instances_.clear();
  redis_.Stop();
}

void Cluster::Restart(int i) {
  ServerProcess& server = instance(i);
  if (server.running()) server.Kill();
  server.Start();
}

std::unique_ptr<HttpClient> Cluster::Connect(int i, std::chrono::milliseconds timeout) {
  if (i == size()) return std::make_unique<HttpClient>(nginx_port(), "127.0.0.1", timeout);
  auto client = std::make_unique<HttpClient>(instance(i).port(), "127.0.0.1", timeout);
  client->SetSourceAddress("127.0.0.2");
  return client;
}

std::string Cluster::AdminKey() const {
  std::string key =
      ReadFileToString(instances_.front()->options().dir / "data" / "security" / "admin.key");
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

fs::path Cluster::ApiLog(int i) const {
  return instances_.at(i)->options().dir / "logs" / "api.log";
}

std::string Cluster::Describe() const {
  std::string text;
  for (const auto& server : instances_) text += server->Describe() + "\n";
  if (nginx_ != nullptr) text += nginx_->Describe();
  return text;
}

}  // namespace chatbot::testing
