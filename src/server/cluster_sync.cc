#include "server/cluster_sync.h"

#include <unistd.h>

#include <random>

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "db/pg_settings.h"
#include "security/postgres_key_store.h"
#include "store/cluster_status.h"
#include "store/postgres_instance_registry.h"

namespace chatbot::server {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;

std::string DrawInstanceId() {
  std::random_device random;
  const uint64_t id = (static_cast<uint64_t>(random()) << 32) ^ random();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

std::string ServedVersion(const ModelRegistry& models) {
  const auto snapshot = models.Current();
  return snapshot ? snapshot->classifier().version() : "";
}

}  // namespace

std::string InstanceAddress(const Settings& settings, uint16_t port) {
  if (!settings.cluster.address.empty()) return settings.cluster.address;
  std::string host = settings.server.host;
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  }
  if (host.find(':') != std::string::npos && !host.starts_with("[")) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

ClusterSync::ClusterSync(const Settings& settings, std::string address, int64_t started_at_ms,
                         ModelRegistry* models, security::AccessControl* access)
    : settings_(settings),
      postgres_(settings.store.backend == "postgres"),
      models_(models),
      access_(access) {
  self_.id = DrawInstanceId();
  self_.address = std::move(address);
  self_.started_at_ms = started_at_ms;
}

ClusterSync::~ClusterSync() {
  try {
    Stop();
  } catch (...) {
    // Stop logs what fails; nothing more to do in a destructor.
  }
}

void ClusterSync::Start() {
  registry_ = store::OpenInstanceRegistry(settings_);
  self_.model_version = ServedVersion(*models_);
  registry_->Heartbeat(self_, settings_.cluster.stale_after_s * 1000);
  if (!self_.model_version.empty()) {
    const store::ServingModel serving =
        registry_->PublishModelIfNone(self_.model_version, self_.address);
    if (serving.version == self_.model_version) followed_generation_ = serving.generation;
  }
  models_->set_on_published([this](const ModelSnapshot& snapshot) {
    {
      std::lock_guard lock(mu_);
      publish_ = snapshot.classifier().version();
    }
    Wake();
  });
  if (postgres_) {
    const db::PgOptions pg = db::PgOptionsFromSettings(settings_);
    db::PgListenerOptions options;
    options.url = pg.url;
    options.connect_timeout_ms = pg.connect_timeout_ms;
    options.channels = {security::PostgresKeyStore::kChangesChannel,
                        store::PostgresInstanceRegistry::kModelChannel};
    listener_ = std::make_unique<db::PgListener>(
        std::move(options),
        [this](const db::PgNotification& notification) {
          if (notification.channel == security::PostgresKeyStore::kChangesChannel) {
            if (access_ != nullptr) access_->Refresh();
          } else {
            {
              std::lock_guard lock(mu_);
              converge_now_ = true;
            }
            Wake();
          }
        },
        [this] {
          // What was sent while no connection listened is lost: read again.
          if (access_ != nullptr) access_->Refresh();
          {
            std::lock_guard lock(mu_);
            converge_now_ = true;
          }
          Wake();
        });
    listener_->Start();
    // Ready only once it listens, so that no change committed after the
    // start is missed; a database too slow for that is caught up by the
    // re-read after the connection.
    if (!listener_->WaitUntilConnected(std::chrono::milliseconds(pg.connect_timeout_ms))) {
      AppLog()->warn("cluster: the notification listener is not connected yet; serving anyway");
    }
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  AppLog()->info("cluster: instance {} at {} recorded in {}", self_.id, self_.address,
                 registry_->where());
}

void ClusterSync::Stop() {
  if (listener_) listener_->Stop();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (models_ != nullptr) models_->set_on_published(nullptr);
  if (registry_) {
    try {
      registry_->Remove(self_.id);
    } catch (const StoreError& e) {
      AppLog()->warn("cluster: cannot remove this instance's row ({}); it is listed as gone",
                     e.what());
    }
    registry_.reset();
  }
}

void ClusterSync::Wake() {
  wake_.notify_all();
}

void ClusterSync::Heartbeat() {
  self_.model_version = ServedVersion(*models_);
  registry_->Heartbeat(self_, settings_.cluster.stale_after_s * 1000);
}

void ClusterSync::PublishPending() {
  std::optional<std::string> version;
  {
    std::lock_guard lock(mu_);
    version = publish_;
  }
  if (!version) return;
  const store::ServingModel serving = registry_->PublishModel(*version, self_.address);
  AppLog()->info("cluster: published model {} (generation {})", serving.version,
                 serving.generation);
  followed_generation_ = serving.generation;
  std::lock_guard lock(mu_);
  if (publish_ == version) publish_.reset();
}

void ClusterSync::Converge() {
  const std::optional<store::ServingModel> serving = registry_->GetServingModel();
  if (!serving || serving->generation == followed_generation_) return;
  const std::string before = ServedVersion(*models_);
  if (serving->version == before) {
    followed_generation_ = serving->generation;
    return;
  }
  AppLog()->info("cluster: {} published model {}; reloading (serving {})", serving->published_by,
                 serving->version, before.empty() ? "none" : before);
  try {
    models_->Reload(/*publish=*/false);
  } catch (const Error&) {
    // Logged by the registry; the old model keeps serving and the next
    // re-read tries again.
    return;
  }
  followed_generation_ = serving->generation;
  const std::string after = ServedVersion(*models_);
  if (after != serving->version) {
    AppLog()->warn(
        "cluster: the models directory {} holds {}, not the published {}; serving {} (a reload "
        "on any instance publishes what the directory holds)",
        settings_.paths.models, after, serving->version, after);
  }
}

void ClusterSync::Run() {
  const auto heartbeat = std::chrono::milliseconds(settings_.cluster.heartbeat_ms);
  const auto resync = std::chrono::seconds(settings_.cluster.resync_s);
  Clock::time_point next_heartbeat = Clock::now() + heartbeat;
  Clock::time_point next_resync = Clock::now() + resync;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_until(lock, std::min(next_heartbeat, postgres_ ? next_resync : next_heartbeat),
                     [this] { return stopping_ || converge_now_ || publish_.has_value(); });
    if (stopping_) break;
    const bool converge = converge_now_;
    converge_now_ = false;
    const bool publish = publish_.has_value();
    lock.unlock();
    const Clock::time_point now = Clock::now();
    try {
      const std::string served = self_.model_version;
      if (publish) PublishPending();
      if (postgres_ && (converge || now >= next_resync)) {
        next_resync = now + resync;
        Converge();
      }
      // A changed model is recorded at once, not at the next beat.
      if (now >= next_heartbeat || ServedVersion(*models_) != served) {
        next_heartbeat = now + heartbeat;
        Heartbeat();
      }
    } catch (const std::exception& e) {
      // The database is down: the heartbeats stop (the others list this
      // instance as gone) and resume by themselves. Said once a minute.
      if (now - last_error_log_ > std::chrono::minutes(1)) {
        AppLog()->error("cluster: {}", e.what());
        last_error_log_ = now;
      }
      next_heartbeat = now + heartbeat;
      lock.lock();
      // A failed publication is tried again at the next beat, not at once.
      wake_.wait_until(lock, next_heartbeat, [this] { return stopping_; });
      continue;
    }
    lock.lock();
  }
}

json::object ClusterSync::StatusJson() {
  const store::ClusterStatus status =
      store::ReadClusterStatus(*registry_, settings_.cluster.stale_after_s * 1000);
  json::array instances;
  for (const store::InstanceStatus& i : status.instances) {
    instances.push_back(json::object{
        {"id", i.info.id},
        {"address", i.info.address},
        {"state", status.Live(i) ? "live" : "gone"},
        {"model_version", i.info.model_version},
        {"started_at", FormatTimestamp(i.info.started_at_ms)},
        {"uptime_s", static_cast<double>(i.uptime_ms) / 1000.0},
        {"last_heartbeat", FormatTimestamp(i.heartbeat_at_ms)},
        {"last_heartbeat_age_s", static_cast<double>(i.heartbeat_age_ms) / 1000.0},
        {"self", i.info.id == self_.id},
    });
  }
  json::value serving = nullptr;
  if (status.serving) {
    serving = json::object{{"version", status.serving->version},
                           {"generation", status.serving->generation},
                           {"published_at", FormatTimestamp(status.serving->published_at_ms)},
                           {"published_by", status.serving->published_by}};
  }
  return json::object{{"backend", status.backend},
                      {"stale_after_s", settings_.cluster.stale_after_s},
                      {"serving_model", std::move(serving)},
                      {"live", status.live_count()},
                      {"instances", std::move(instances)}};
}

}  // namespace chatbot::server
