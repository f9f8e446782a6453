// What the process and its machine use, read from /proc and /sys on each
// scrape (a few microseconds): CPU time, resident and virtual memory, open
// file descriptors and their limit, threads, start time; the machine's
// memory, the memory limit that applies to the service (its cgroup's
// memory.max, else the machine's memory) and the cores it may run on; free
// space of the file systems holding its data.
//
// The names follow Prometheus' conventions for process metrics
// (process_cpu_seconds_total, process_resident_memory_bytes, ...), so
// dashboards written for other services work unchanged; the machine-level
// figures carry the chatbot_ prefix. The alert rules in
// deploy/prometheus/alerts.yml divide one by the other (CPU > 80 % of the
// cores, memory > 90 % of the limit, descriptors > 90 % of the limit).
#ifndef CHATBOT_OPS_PROCESS_STATS_H_
#define CHATBOT_OPS_PROCESS_STATS_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metrics_registry.h"

namespace chatbot::ops {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;  // the soft RLIMIT_NOFILE
  int64_t threads = 0;
  double start_time_seconds = 0;  // Unix time
};

// Of the calling process. Fields that cannot be read stay 0.
ProcessStats ReadProcessStats();

struct HostStats {
  uint64_t memory_total_bytes = 0;      // MemTotal
  uint64_t memory_available_bytes = 0;  // MemAvailable
  // The cgroup v2 memory.max of this process when it is set, else
  // memory_total_bytes.
  uint64_t memory_limit_bytes = 0;
  int cpu_cores = 0;  // CPUs this process may run on (its affinity mask)
};

HostStats ReadHostStats();

// Free and total bytes of the file system holding `path`; nullopt when it
// cannot be examined.
struct DiskStats {
  uint64_t free_bytes = 0;  // available to unprivileged users
  uint64_t total_bytes = 0;
};
std::optional<DiskStats> ReadDiskStats(const std::filesystem::path& path);

// Adds a collector writing the process_* and chatbot_host_* metrics, and
// chatbot_disk_{free,total}_bytes{path=...} for each of `disk_paths` (the
// sessions, models, logs and backups folders, say; duplicates on one file
// system are written once per path). Returns the collector's id.
int AddProcessCollector(metrics::MetricsRegistry* registry,
                        std::vector<std::filesystem::path> disk_paths = {});

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_PROCESS_STATS_H_
