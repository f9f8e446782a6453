// ops::ReadProcessStats / ReadHostStats / ReadDiskStats against what the
// test itself does (threads, descriptors, memory, CPU), the process
// collector's output, and the GPU monitor through a stand-in nvidia-smi (no
// GPU is needed: the real one is used where present).
#include "ops/process_stats.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "ops/gpu_monitor.h"
#include "temp_dir.h"

namespace chatbot::ops {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using test_support::TempDir;

TEST(ProcessStatsTest, ReflectsThisProcess) {
  const ProcessStats before = ReadProcessStats();
  EXPECT_GT(before.resident_bytes, 1u << 20);
  EXPECT_GE(before.virtual_bytes, before.resident_bytes);
  EXPECT_GT(before.open_fds, 2);  // stdin, stdout, stderr at least
  EXPECT_GT(before.max_fds, before.open_fds);
  EXPECT_GE(before.threads, 1);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(before.start_time_seconds, now - 3600);
  EXPECT_LE(before.start_time_seconds, now + 1);

  // Ten more descriptors, two more threads, some CPU.
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) fds.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&stop] {
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1.0;
  const ProcessStats after = ReadProcessStats();
  EXPECT_EQ(after.open_fds, before.open_fds + 10);
  EXPECT_EQ(after.threads, before.threads + 2);
  EXPECT_GT(after.cpu_seconds, before.cpu_seconds + 0.1);
  stop = true;
  for (auto& t : threads) t.join();
  for (int fd : fds) ::close(fd);
}

TEST(ProcessStatsTest, HostAndDisk) {
  const HostStats host = ReadHostStats();
  EXPECT_GT(host.memory_total_bytes, 64u << 20);
  EXPECT_GT(host.memory_available_bytes, 0u);
  EXPECT_LE(host.memory_available_bytes, host.memory_total_bytes);
  EXPECT_GT(host.memory_limit_bytes, 0u);
  EXPECT_LE(host.memory_limit_bytes, host.memory_total_bytes);
  EXPECT_GE(host.cpu_cores, 1);
  const std::optional<DiskStats> disk = ReadDiskStats(fs::temp_directory_path());
  ASSERT_TRUE(disk.has_value());
  EXPECT_GT(disk->total_bytes, 0u);
  EXPECT_LE(disk->free_bytes, disk->total_bytes);
  EXPECT_FALSE(ReadDiskStats("/no/such/path/anywhere").has_value());
}

TEST(ProcessStatsTest, CollectorWritesProcessHostAndDiskMetrics) {
  metrics::MetricsRegistry registry;
  AddProcessCollector(&registry, {fs::temp_directory_path(), "/no/such/path"});
  const std::string text = registry.Render();
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_open_fds ", "process_max_fds ", "process_start_time_seconds ",
                           "chatbot_host_cpu_cores ", "chatbot_host_memory_total_bytes ",
                           "chatbot_host_memory_available_bytes ", "chatbot_memory_limit_bytes "}) {
    EXPECT_THAT(text, HasSubstr("\n" + std::string(name))) << name;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_disk_free_bytes{path=\"" +
                              fs::temp_directory_path().string() + "\"} "));
  EXPECT_THAT(text, Not(HasSubstr("/no/such/path")));
}

TEST(GpuMonitorTest, ParsesNvidiaSmiOutput) {
  const std::vector<GpuSample> samples = ParseNvidiaSmiCsv(
      "0, NVIDIA H200, 37, 1024, 143771\n"
      "1, NVIDIA H200, [N/A], 0, 143771\n"
      "garbage line\n"
      "2, Tesla T4, 100, 15360.5, 15360\n");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].index, 0);
  EXPECT_EQ(samples[0].name, "NVIDIA H200");
  EXPECT_DOUBLE_EQ(samples[0].utilization, 0.37);
  EXPECT_EQ(samples[0].memory_used_bytes, 1024ull << 20);
  EXPECT_EQ(samples[0].memory_total_bytes, 143771ull << 20);
  EXPECT_EQ(samples[1].index, 2);
  EXPECT_DOUBLE_EQ(samples[1].utilization, 1.0);
  EXPECT_TRUE(ParseNvidiaSmiCsv("").empty());
}

TEST(GpuMonitorTest, SamplesThroughNvidiaSmiAndWritesGauges) {
  TempDir dir;
  const fs::path fake = dir.path() / "nvidia-smi";
  const fs::path counter = dir.path() / "calls";
  {
    std::ofstream script(fake);
    // Utilisation grows with every call, so that resampling shows.
    script << "#!/bin/sh\n"
              "echo x >> '"
           << counter.string()
           << "'\n"
              "n=$(wc -l < '"
           << counter.string()
           << "')\n"
              "echo \"0, Fake GPU, $n, 2048, 8192\"\n";
  }
  ::chmod(fake.c_str(), 0755);
  GpuMonitor::Options options;
  options.use_nvml = false;
  options.nvidia_smi = fake.string();
  options.interval = std::chrono::milliseconds(50);
  const auto monitor = GpuMonitor::Start(options);
  ASSERT_NE(monitor, nullptr);
  EXPECT_EQ(monitor->source(), "nvidia-smi");
  std::vector<GpuSample> samples = monitor->Latest();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].name, "Fake GPU");
  EXPECT_EQ(samples[0].memory_total_bytes, 8192ull << 20);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (monitor->Latest()[0].utilization < 0.03 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(monitor->Latest()[0].utilization, 0.03);

  metrics::MetricsRegistry registry;
  monitor->AddCollector(&registry);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE chatbot_gpu_utilization_ratio gauge\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_gpu_memory_used_bytes{gpu=\"0\",name=\"Fake GPU\"} " +
                              std::to_string(2048ull << 20) + "\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_gpu_memory_total_bytes{gpu=\"0\",name=\"Fake GPU\"} "));
}

TEST(GpuMonitorTest, NoGpuMeansNoMonitor) {
  TempDir dir;
  GpuMonitor::Options options;
  options.use_nvml = false;
  options.nvidia_smi = (dir.path() / "missing-nvidia-smi").string();
  EXPECT_EQ(GpuMonitor::Start(options), nullptr);
  // A program that fails (as nvidia-smi does without a driver).
  const fs::path failing = dir.path() / "failing";
  std::ofstream(failing) << "#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n";
  ::chmod(failing.c_str(), 0755);
  options.nvidia_smi = failing.string();
  EXPECT_EQ(GpuMonitor::Start(options), nullptr);
}

}  // namespace
}  // namespace chatbot::ops
