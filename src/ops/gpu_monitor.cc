#include "ops/gpu_monitor.h"

#include <dlfcn.h>

#include <charconv>
#include <cstring>

#include "common/strings.h"
#include "ops/child_process.h"

namespace chatbot::ops {
namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* value) {
  text = Trim(text, " \t\r");
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// argv's stdout when it exits 0 within `timeout`; "" otherwise.
std::string RunCapture(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  ChildOptions options;
  options.args = args;
  options.capture_stderr = false;
  options.timeout = timeout;
  ChildResult result = RunChild(options);
  return result.ok() ? std::move(result.out) : std::string();
}

}  // namespace

std::vector<GpuSample> ParseNvidiaSmiCsv(std::string_view csv) {
  std::vector<GpuSample> samples;
  while (!csv.empty()) {
    const size_t newline = csv.find('\n');
    std::string_view line = csv.substr(0, newline);
    csv.remove_prefix(newline == std::string_view::npos ? csv.size() : newline + 1);
    const std::vector<std::string_view> fields = SplitTrimmed(line, ',', " \t\r");
    if (fields.size() != 5) continue;
    GpuSample s;
    double utilization = 0;
    double used_mib = 0;
    double total_mib = 0;
    if (!ParseNumber(fields[0], &s.index) || !ParseNumber(fields[2], &utilization) ||
        !ParseNumber(fields[3], &used_mib) || !ParseNumber(fields[4], &total_mib)) {
      continue;
    }
    s.name = std::string(fields[1]);
    s.utilization = utilization / 100.0;
    s.memory_used_bytes = static_cast<uint64_t>(used_mib * 1024 * 1024);
    s.memory_total_bytes = static_cast<uint64_t>(total_mib * 1024 * 1024);
    samples.push_back(std::move(s));
  }
  return samples;
}

// One way of reading the GPUs.
struct GpuMonitor::Source {
  virtual ~Source() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<GpuSample> Sample() = 0;
};

namespace {

// NVML's C interface, declared here from its public documentation: the
// handful of entry points used, resolved with dlsym.
using NvmlReturn = int;  // NVML_SUCCESS == 0
using NvmlDevice = void*;
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

class NvmlSource final : public GpuMonitor::Source {
 public:
  static std::unique_ptr<NvmlSource> Open() {
    void* library = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) return nullptr;
    auto source = std::unique_ptr<NvmlSource>(new NvmlSource(library));
    if (!source->Resolve() || source->init_() != 0) return nullptr;
    source->initialized_ = true;
    unsigned int count = 0;
    if (source->count_(&count) != 0 || count == 0) return nullptr;
    return source;
  }
  ~NvmlSource() override {
    if (initialized_) shutdown_();
    ::dlclose(library_);
  }
  std::string_view name() const override { return "nvml"; }
  std::vector<GpuSample> Sample() override {
    std::vector<GpuSample> samples;
    unsigned int count = 0;
    if (count_(&count) != 0) return samples;
    for (unsigned int i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (handle_(i, &device) != 0) continue;
      GpuSample s;
      s.index = static_cast<int>(i);
      char name[96] = {};
      if (name_(device, name, sizeof name - 1) == 0) s.name = name;
      NvmlUtilization utilization{};
      if (utilization_(device, &utilization) == 0) s.utilization = utilization.gpu / 100.0;
      NvmlMemory memory{};
      if (memory_(device, &memory) == 0) {
        s.memory_used_bytes = memory.used;
        s.memory_total_bytes = memory.total;
      }
      samples.push_back(std::move(s));
    }
    return samples;
  }

 private:
  explicit NvmlSource(void* library) : library_(library) {}
  template <typename F>
  bool Bind(const char* symbol, F* function) {
    *function = reinterpret_cast<F>(::dlsym(library_, symbol));
    return *function != nullptr;
  }
  bool Resolve() {
    return Bind("nvmlInit_v2", &init_) && Bind("nvmlShutdown", &shutdown_) &&
           Bind("nvmlDeviceGetCount_v2", &count_) &&
           Bind("nvmlDeviceGetHandleByIndex_v2", &handle_) && Bind("nvmlDeviceGetName", &name_) &&
           Bind("nvmlDeviceGetUtilizationRates", &utilization_) &&
           Bind("nvmlDeviceGetMemoryInfo", &memory_);
  }

  void* library_;
  bool initialized_ = false;
  NvmlReturn (*init_)() = nullptr;
  NvmlReturn (*shutdown_)() = nullptr;
  NvmlReturn (*count_)(unsigned int*) = nullptr;
  NvmlReturn (*handle_)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*name_)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*utilization_)(NvmlDevice, NvmlUtilization*) = nullptr;
  NvmlReturn (*memory_)(NvmlDevice, NvmlMemory*) = nullptr;
};

class NvidiaSmiSource final : public GpuMonitor::Source {
 public:
  explicit NvidiaSmiSource(std::string program) : program_(std::move(program)) {}
  std::string_view name() const override { return "nvidia-smi"; }
  std::vector<GpuSample> Sample() override {
    return ParseNvidiaSmiCsv(
        RunCapture({program_, "--query-gpu=index,name,utilization.gpu,memory.used,memory.total",
                    "--format=csv,noheader,nounits"},
                   std::chrono::seconds(10)));
  }

 private:
  std::string program_;
};

}  // namespace

std::unique_ptr<GpuMonitor> GpuMonitor::Start(const Options& options) {
  std::unique_ptr<Source> source;
  if (options.use_nvml) source = NvmlSource::Open();
  std::vector<GpuSample> first;
  if (source) first = source->Sample();
  if (first.empty() && !options.nvidia_smi.empty()) {
    auto smi = std::make_unique<NvidiaSmiSource>(options.nvidia_smi);
    first = smi->Sample();
    if (!first.empty()) source = std::move(smi);
  }
  if (first.empty()) return nullptr;
  auto monitor = std::unique_ptr<GpuMonitor>(new GpuMonitor(std::move(source), options.interval));
  monitor->latest_ = std::move(first);
  monitor->thread_ = std::thread([m = monitor.get()] { m->Run(); });
  return monitor;
}

GpuMonitor::GpuMonitor(std::unique_ptr<Source> source, std::chrono::milliseconds interval)
    : source_(std::move(source)), interval_(interval) {}

GpuMonitor::~GpuMonitor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string_view GpuMonitor::source() const {
  return source_->name();
}

std::vector<GpuSample> GpuMonitor::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void GpuMonitor::Run() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    std::vector<GpuSample> samples = source_->Sample();
    lock.lock();
    // A failed sample (driver busy) keeps the previous one rather than
    // making the series vanish and reappear.
    if (!samples.empty()) latest_ = std::move(samples);
  }
}

int GpuMonitor::AddCollector(metrics::MetricsRegistry* registry) {
  return registry->AddCollector([this](metrics::MetricWriter& w) {
    const std::vector<GpuSample> samples = Latest();
    struct Family {
      const char* name;
      const char* help;
      double (*value)(const GpuSample&);
    };
    static constexpr Family kFamilies[] = {
        {"chatbot_gpu_utilization_ratio",
         "Share of the last sample period during which the GPU was busy (0..1).",
         [](const GpuSample& s) { return s.utilization; }},
        {"chatbot_gpu_memory_used_bytes", "GPU memory in use, in bytes.",
         [](const GpuSample& s) { return static_cast<double>(s.memory_used_bytes); }},
        {"chatbot_gpu_memory_total_bytes", "GPU memory, in bytes.",
         [](const GpuSample& s) { return static_cast<double>(s.memory_total_bytes); }},
    };
    for (const Family& family : kFamilies) {
      w.Header(family.name, family.help, metrics::MetricType::kGauge);
      for (const GpuSample& s : samples) {
        const std::string index = std::to_string(s.index);
        const metrics::Label labels[] = {{"gpu", index}, {"name", s.name}};
        w.Sample(family.name, labels, family.value(s));
      }
    }
  });
}

}  // namespace chatbot::ops
