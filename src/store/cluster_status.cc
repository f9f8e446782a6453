#include "store/cluster_status.h"

#include <algorithm>
#include <filesystem>

#include "common/strings.h"
#include "common/time.h"

namespace chatbot::store {

int ClusterStatus::live_count() const {
  return static_cast<int>(std::count_if(instances.begin(), instances.end(),
                                        [this](const InstanceStatus& i) { return Live(i); }));
}

ClusterStatus ReadClusterStatus(InstanceRegistry& registry, int64_t stale_after_ms) {
  ClusterStatus status;
  status.backend = registry.backend();
  status.where = registry.where();
  status.stale_after_ms = stale_after_ms;
  status.instances = registry.List();
  status.serving = registry.GetServingModel();
  return status;
}

ClusterStatus ReadClusterStatus(const Settings& settings) {
  const int64_t stale_after_ms = settings.cluster.stale_after_s * 1000;
  if (settings.store.backend != "postgres") {
    const std::filesystem::path file = std::filesystem::path(settings.paths.logs) / "instance.db";
    std::error_code ignored;
    if (!std::filesystem::exists(file, ignored)) {
      ClusterStatus none;
      none.backend = "sqlite";
      none.where = file.string();
      none.stale_after_ms = stale_after_ms;
      return none;
    }
  }
  const std::unique_ptr<InstanceRegistry> registry = OpenInstanceRegistry(settings);
  return ReadClusterStatus(*registry, stale_after_ms);
}

std::string UptimeText(int64_t ms) {
  const int64_t s = std::max<int64_t>(0, ms) / 1000;
  std::string out;
  if (s >= 86400) {
    AppendPrintf(&out, "%lldd %02lldh", static_cast<long long>(s / 86400),
                 static_cast<long long>(s % 86400 / 3600));
  } else if (s >= 3600) {
    AppendPrintf(&out, "%lldh %02lldm", static_cast<long long>(s / 3600),
                 static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    AppendPrintf(&out, "%lldm %02llds", static_cast<long long>(s / 60),
                 static_cast<long long>(s % 60));
  } else {
    AppendPrintf(&out, "%llds", static_cast<long long>(s));
  }
  return out;
}

std::string ClusterStatusTable(const ClusterStatus& status) {
  std::string out;
  AppendPrintf(&out, "store:          %s (%s)\n", status.backend.c_str(), status.where.c_str());
  if (status.serving) {
    AppendPrintf(&out, "serving model:  %s (published %s by %s)\n", status.serving->version.c_str(),
                 FormatTimestamp(status.serving->published_at_ms).c_str(),
                 status.serving->published_by.c_str());
  } else {
    out += "serving model:  none published yet\n";
  }
  if (status.instances.empty()) {
    out += "no instance has recorded itself\n";
    return out;
  }
  size_t address_width = 7, version_width = 13;
  for (const InstanceStatus& i : status.instances) {
    address_width = std::max(address_width, i.info.address.size());
    version_width = std::max(version_width, i.info.model_version.size());
  }
  const int aw = static_cast<int>(address_width), vw = static_cast<int>(version_width);
  AppendPrintf(&out, "\n%-*s  %-5s  %-*s  %-8s  %-14s  %s\n", aw, "ADDRESS", "STATE", vw,
               "MODEL VERSION", "UPTIME", "LAST HEARTBEAT", "ID");
  for (const InstanceStatus& i : status.instances) {
    std::string age;
    AppendPrintf(&age, "%.1f s ago", static_cast<double>(i.heartbeat_age_ms) / 1000.0);
    AppendPrintf(&out, "%-*s  %-5s  %-*s  %-8s  %-14s  %s\n", aw, i.info.address.c_str(),
                 status.Live(i) ? "live" : "gone", vw,
                 i.info.model_version.empty() ? "(none)" : i.info.model_version.c_str(),
                 UptimeText(i.uptime_ms).c_str(), age.c_str(), i.info.id.c_str());
  }
  const int live = status.live_count();
  AppendPrintf(&out, "\n%d live, %d gone (gone: no heartbeat for %lld s)\n", live,
               static_cast<int>(status.instances.size()) - live,
               static_cast<long long>(status.stale_after_ms / 1000));
  return out;
}

}  // namespace chatbot::store
