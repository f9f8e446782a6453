// GPU utilisation and memory for /metrics, where the machine has an NVIDIA
// GPU; nothing at all otherwise.
//
// Sources, in order: NVML (libnvidia-ml.so.1, loaded with dlopen at run time
// so that the binary neither links against nor needs the driver), else the
// nvidia-smi command. Reading either can take milliseconds (nvidia-smi tens),
// too slow for a scrape, so a background thread samples every `interval`
// and the collector writes the latest sample:
//   chatbot_gpu_utilization_ratio{gpu="0",name="NVIDIA H200"}  0..1
//   chatbot_gpu_memory_used_bytes{gpu,name}
//   chatbot_gpu_memory_total_bytes{gpu,name}
#ifndef CHATBOT_OPS_GPU_MONITOR_H_
#define CHATBOT_OPS_GPU_MONITOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "metrics/metrics_registry.h"

namespace chatbot::ops {

struct GpuSample {
  int index = 0;
  std::string name;
  double utilization = 0;  // 0..1, over the driver's last sample period
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
};

// Parses `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,
// memory.total --format=csv,noheader,nounits` (MiB): one GPU per line.
// Lines that do not parse (a "[N/A]" field, say) are skipped.
std::vector<GpuSample> ParseNvidiaSmiCsv(std::string_view csv);

class GpuMonitor {
 public:
  struct Options {
    std::chrono::milliseconds interval{5000};
    bool use_nvml = true;
    // The nvidia-smi to run (a name looked up in PATH, or a path); empty
    // disables this source.
    std::string nvidia_smi = "nvidia-smi";
  };

  // Probes the sources; nullptr when no GPU is found (no thread is started
  // then). Otherwise samples once before returning, then every interval.
  static std::unique_ptr<GpuMonitor> Start(const Options& options);
  ~GpuMonitor();
  GpuMonitor(const GpuMonitor&) = delete;
  GpuMonitor& operator=(const GpuMonitor&) = delete;

  // "nvml" or "nvidia-smi".
  std::string_view source() const;
  std::vector<GpuSample> Latest() const;

  // Writes the latest sample through `registry` (see above); returns the
  // collector's id. The monitor must outlive the collector.
  int AddCollector(metrics::MetricsRegistry* registry);

  // A way of reading the GPUs (NVML, nvidia-smi); defined in the .cc.
  struct Source;

 private:
  GpuMonitor(std::unique_ptr<Source> source, std::chrono::milliseconds interval);
  void Run();

  std::unique_ptr<Source> source_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;          // guarded by mu_
  std::vector<GpuSample> latest_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_GPU_MONITOR_H_
