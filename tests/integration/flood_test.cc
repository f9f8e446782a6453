// Floods and slow clients against the real `chatbot serve`
// (docs/security.md, "Floods and slow clients"), all at once:
//   - thousands of idle connections, spread over many loopback addresses;
//   - slowloris clients sending a header byte every 2 s;
//   - one address opening connections as fast as it can (beyond
//     server.max_connections_per_address: 429 and closed);
//   - oversized headers (431) and bodies (413), one after another;
// while another client's /v1/parse keeps its p99 under 50 ms (the issue's
// bound, asserted as is; bench/flood.sh prints the same figures) and the
// server's RSS stays bounded.
//
// Loopback addresses other than 127.0.0.1 are the attackers' (Linux routes
// all of 127.0.0.0/8 to lo), so the limit per address sees them apart.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection from a chosen source address; -1 when it cannot connect.
// Reads give up after `timeout`.
int ConnectFrom(uint16_t port, const std::string& source, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// The status of the response the server sends first (0: none).
int ReadStatus(int fd) {
  char buffer[512];
  std::string head;
  while (head.find("\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return 0;
    head.append(buffer, static_cast<size_t>(n));
  }
  return head.starts_with("HTTP/1.1 ") ? std::atoi(head.c_str() + 9) : 0;
}

// True when the server closed the connection (nothing to read is not).
bool ClosedByServer(int fd) {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// The server's resident set size, in MB.
// Under AddressSanitizer, freed memory waits in a quarantine (256 MB by
// default) before reuse, and stays resident meanwhile: the flood's many
// short-lived buffers would fill it and RSS would measure the sanitizer, not
// the server. A 16 MB quarantine keeps the bound about the server's own
// memory; other builds ignore the variable.
std::string SmallAsanQuarantine() {
  const char* options = std::getenv("ASAN_OPTIONS");
  std::string value = options != nullptr ? options : "";
  if (!value.empty()) value += ':';
  return value + "quarantine_size_mb=16";
}

double RssMb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::atof(line.c_str() + 6) / 1024;
  }
  return 0;
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size(), std::max<size_t>(rank, 1)) - 1];
}

class FloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Thousands of sockets in this process.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << Describe(model.training);
    InstallSharedModel(work_.path());
  }

  TempDir work_{"chatbot-flood"};
};

TEST_F(FloodTest, OtherClientsStayFastAndMemoryBoundedUnderFloodsAndSlowClients) {
  const char* idle_env = std::getenv("CHATBOT_FLOOD_IDLE");
  const int idle_connections = idle_env != nullptr ? std::atoi(idle_env) : 2000;
  const char* seconds_env = std::getenv("CHATBOT_FLOOD_SECONDS");
  const int attack_seconds = seconds_env != nullptr ? std::atoi(seconds_env) : 6;
  constexpr int kPerAddress = 64;
  ServerProcess server(
      ServerOptions{work_.path(),
                    {"--set", "server.max_connections_per_address=" + std::to_string(kPerAddress),
                     "--set", "server.read_timeout_ms=3000", "--set",
                     "server.max_header_bytes=8192", "--set", "server.max_body_bytes=65536"},
                    {{"ASAN_OPTIONS", SmallAsanQuarantine()}}});
  server.Start();
  const uint16_t port = server.port();
  HttpClient victim(server.port());
  const json::object parse{{"text", "where is my order"}};
  for (int i = 0; i < 50; ++i) ASSERT_EQ(victim.Post("/v1/parse", parse).status, 200);
  const double rss_before = RssMb(server.pid());

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int, int> flood_statuses;  // status -> count, from 127.0.0.2 and .4
  std::atomic<int> slow_cut{0};
  std::atomic<double> rss_peak{rss_before};
  std::vector<std::thread> attackers;

  // Idle: connect and say nothing (under the idle timeout of 60 s), 50 per
  // address from 127.0.0.10 on.
  std::vector<int> idle;
  for (int i = 0; i < idle_connections; ++i) {
    const int fd = ConnectFrom(port, "127.0.0." + std::to_string(10 + i / 50), milliseconds(5000));
    ASSERT_GE(fd, 0) << "idle connection " << i;
    idle.push_back(fd);
  }

  // Slowloris: 40 connections from 127.0.0.3, a header byte every 2 s.
  attackers.emplace_back([&] {
    std::vector<int> slow;
    std::vector<Clock::time_point> opened;
    while (!stop) {
      while (slow.size() < 40) {
        const int fd = ConnectFrom(port, "127.0.0.3", milliseconds(2000));
        if (fd < 0) break;
        SendAll(fd, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        slow.push_back(fd);
        opened.push_back(Clock::now());
      }
      for (size_t i = 0; i < slow.size();) {
        if (ClosedByServer(slow[i]) || !SendAll(slow[i], "a")) {
          // Cut off: the server closed it (read_timeout).
          ::close(slow[i]);
          slow.erase(slow.begin() + static_cast<ptrdiff_t>(i));
          opened.erase(opened.begin() + static_cast<ptrdiff_t>(i));
          ++slow_cut;
          continue;
        }
        ++i;
      }
      for (int i = 0; i < 20 && !stop; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
    for (int fd : slow) ::close(fd);
  });

  // One address: connections held open as fast as they come. Another:
  // oversized headers and oversized bodies.
  const auto count = [&](int status) {
    std::lock_guard lock(mu);
    ++flood_statuses[status];
  };
  attackers.emplace_back([&] {
    std::vector<int> held;
    while (!stop) {
      const int fd = ConnectFrom(port, "127.0.0.2", milliseconds(2000));
      if (fd < 0) continue;
      if (held.size() < static_cast<size_t>(kPerAddress) * 2) {
        held.push_back(fd);  // the ones past the limit are answered 429
        continue;
      }
      count(ReadStatus(fd));
      ::close(fd);
    }
    for (int fd : held) ::close(fd);
  });
  for (const std::string& request :
       {"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n",
        "POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000000\r\n\r\n" +
            std::string(100000, 'b')}) {
    attackers.emplace_back([&, request] {
      while (!stop) {
        const int fd = ConnectFrom(port, "127.0.0.4", milliseconds(2000));
        if (fd < 0) continue;
        SendAll(fd, request);
        count(ReadStatus(fd));
        ::close(fd);
      }
    });
  }
  attackers.emplace_back([&] {
    while (!stop) {
      rss_peak = std::max(rss_peak.load(), RssMb(server.pid()));
      std::this_thread::sleep_for(milliseconds(50));
    }
  });

  std::vector<double> latencies_ms;
  int failures = 0;
  const Clock::time_point end = Clock::now() + std::chrono::seconds(attack_seconds);
  while (Clock::now() < end) {
    const Clock::time_point start = Clock::now();
    const HttpResult r = victim.Post("/v1/parse", parse);
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (r.status != 200) ++failures;
    std::this_thread::sleep_for(milliseconds(5));
  }
  stop = true;
  for (std::thread& t : attackers) t.join();
  for (int fd : idle) ::close(fd);

  EXPECT_EQ(failures, 0);
  EXPECT_GT(flood_statuses[429], 0) << "no connection was refused for its address";
  EXPECT_GT(flood_statuses[431], 0) << "no oversized header was refused";
  EXPECT_GT(flood_statuses[413], 0) << "no oversized body was refused";
  if (attack_seconds >= 4) {
    EXPECT_GT(slow_cut.load(), 0) << "no slow client was cut off after 3 s";
  }
  const double p99 = Percentile(latencies_ms, 99);
  EXPECT_LT(p99, 50.0) << "p50 " << Percentile(latencies_ms, 50) << " ms, max "
                       << Percentile(latencies_ms, 100) << " ms";
  // 2,000 idle connections cost a few KB each; the floods are bounded by the
  // limits.
  EXPECT_LT(rss_peak - rss_before, 100.0);
  EXPECT_EQ(victim.Get("/health").status, 200);
  std::string statuses;
  for (const auto& [status, n] : flood_statuses) {
    statuses += " " + std::to_string(status) + ":" + std::to_string(n);
  }
  std::printf(
      "flood: %d idle connections, %d slow clients cut off, from one address%s; other client: "
      "%zu requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms; RSS %.0f MB before, %.0f MB at "
      "most\n",
      idle_connections, slow_cut.load(), statuses.c_str(), latencies_ms.size(),
      Percentile(latencies_ms, 50), p99, Percentile(latencies_ms, 100), rss_before,
      rss_peak.load());
}

}  // namespace
}  // namespace chatbot::testing
