#include "ops/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace chatbot::ops {
namespace {

// Reads a small /proc or /sys file without iostreams (one read call).
std::string ReadSmallFile(const char* path) {
  std::string out;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) break;
  }
  ::close(fd);
  return out;
}

uint64_t ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// "MemTotal:       16318500 kB" -> bytes.
uint64_t MeminfoBytes(std::string_view meminfo, std::string_view key) {
  const size_t at = meminfo.find(key);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = meminfo.substr(at + key.size());
  const size_t digits = rest.find_first_of("0123456789");
  if (digits == std::string_view::npos) return 0;
  rest.remove_prefix(digits);
  return ParseUnsigned(rest.substr(0, rest.find_first_not_of("0123456789"))) * 1024;
}

int64_t CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

double BootTimeSeconds() {
  const std::string stat = ReadSmallFile("/proc/stat");
  const size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) return 0;
  return static_cast<double>(ParseUnsigned(std::string_view(stat).substr(at + 7, 20)));
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  static const double boot = BootTimeSeconds();
  // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and
  // parentheses, so fields are counted from the last ')'.
  const std::string stat = ReadSmallFile("/proc/self/stat");
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::vector<std::string_view> fields;
    std::string_view rest = std::string_view(stat).substr(close + 2);
    while (!rest.empty() && fields.size() < 30) {
      const size_t space = rest.find(' ');
      fields.push_back(rest.substr(0, space));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    // fields[0] is field 3 (state): field N is fields[N - 3].
    if (fields.size() > 21) {
      stats.cpu_seconds =
          static_cast<double>(ParseUnsigned(fields[11]) + ParseUnsigned(fields[12])) / ticks;
      stats.threads = static_cast<int64_t>(ParseUnsigned(fields[17]));
      stats.start_time_seconds = boot + static_cast<double>(ParseUnsigned(fields[19])) / ticks;
      stats.virtual_bytes = ParseUnsigned(fields[20]);
      stats.resident_bytes = ParseUnsigned(fields[21]) * static_cast<uint64_t>(page);
    }
  }
  stats.open_fds = CountOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<int64_t>(limit.rlim_cur);
  }
  return stats;
}

HostStats ReadHostStats() {
  HostStats stats;
  const std::string meminfo = ReadSmallFile("/proc/meminfo");
  stats.memory_total_bytes = MeminfoBytes(meminfo, "MemTotal:");
  stats.memory_available_bytes = MeminfoBytes(meminfo, "MemAvailable:");
  stats.memory_limit_bytes = stats.memory_total_bytes;
  // cgroup v2: /proc/self/cgroup is "0::/system.slice/chatbot.service".
  const std::string cgroup = ReadSmallFile("/proc/self/cgroup");
  if (cgroup.starts_with("0::")) {
    std::string relative = cgroup.substr(3);
    while (!relative.empty() && (relative.back() == '\n' || relative.back() == '/')) {
      relative.pop_back();
    }
    const std::string path = "/sys/fs/cgroup" + relative + "/memory.max";
    const std::string max = ReadSmallFile(path.c_str());
    if (!max.empty() && max[0] >= '0' && max[0] <= '9') {
      const uint64_t limit = ParseUnsigned(max);
      if (limit > 0 && (stats.memory_limit_bytes == 0 || limit < stats.memory_limit_bytes)) {
        stats.memory_limit_bytes = limit;
      }
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  stats.cpu_cores = ::sched_getaffinity(0, sizeof set, &set) == 0
                        ? CPU_COUNT(&set)
                        : static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  return stats;
}

std::optional<DiskStats> ReadDiskStats(const std::filesystem::path& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return std::nullopt;
  DiskStats stats;
  stats.free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  stats.total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  return stats;
}

int AddProcessCollector(metrics::MetricsRegistry* registry,
                        std::vector<std::filesystem::path> disk_paths) {
  return registry->AddCollector([disk_paths = std::move(disk_paths)](metrics::MetricWriter& w) {
    const ProcessStats p = ReadProcessStats();
    w.Counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
              p.cpu_seconds);
    w.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
            static_cast<double>(p.resident_bytes));
    w.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
            static_cast<double>(p.virtual_bytes));
    w.Gauge("process_open_fds", "Open file descriptors.", static_cast<double>(p.open_fds));
    if (p.max_fds > 0) {
      w.Gauge("process_max_fds", "Maximum number of open file descriptors (soft limit).",
              static_cast<double>(p.max_fds));
    }
    w.Gauge("process_threads", "Threads of the process.", static_cast<double>(p.threads));
    w.Gauge("process_start_time_seconds", "Start time of the process, in Unix seconds.",
            p.start_time_seconds);

    const HostStats h = ReadHostStats();
    w.Gauge("chatbot_host_cpu_cores", "CPU cores the service may run on (its affinity mask).",
            h.cpu_cores);
    w.Gauge("chatbot_host_memory_total_bytes", "Memory of the machine (MemTotal).",
            static_cast<double>(h.memory_total_bytes));
    w.Gauge("chatbot_host_memory_available_bytes",
            "Memory available for new work on the machine (MemAvailable).",
            static_cast<double>(h.memory_available_bytes));
    w.Gauge("chatbot_memory_limit_bytes",
            "Memory the service may use: its cgroup's memory.max, else the machine's memory.",
            static_cast<double>(h.memory_limit_bytes));

    bool free_header = false;
    for (const auto& path : disk_paths) {
      const std::optional<DiskStats> d = ReadDiskStats(path);
      if (!d) continue;
      if (!free_header) {
        w.Header("chatbot_disk_free_bytes",
                 "Bytes available to the service on the file system holding a data folder.",
                 metrics::MetricType::kGauge);
        free_header = true;
      }
      const std::string name = path.string();
      const metrics::Label label{"path", name};
      w.Sample("chatbot_disk_free_bytes", {&label, 1}, static_cast<double>(d->free_bytes));
    }
    bool total_header = false;
    for (const auto& path : disk_paths) {
      const std::optional<DiskStats> d = ReadDiskStats(path);
      if (!d) continue;
      if (!total_header) {
        w.Header("chatbot_disk_total_bytes", "Size of the file system holding a data folder.",
                 metrics::MetricType::kGauge);
        total_header = true;
      }
      const std::string name = path.string();
      const metrics::Label label{"path", name};
      w.Sample("chatbot_disk_total_bytes", {&label, 1}, static_cast<double>(d->total_bytes));
    }
  });
}

}  // namespace chatbot::ops
