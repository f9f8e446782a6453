#include "db/pg_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/error.h"
#include "common/logging.h"

namespace chatbot::db {
namespace {

using Clock = std::chrono::steady_clock;

bool PlainIdentifier(const std::string& name) {
  return !name.empty() && name.size() < 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A peer that vanished without closing (a cable pulled, a machine frozen)
// sends nothing: TCP keep-alive and a user timeout turn that into an error
// within about 10 s instead of the kernel's two hours. A Unix socket
// refuses the options, which it does not need.
void BoundSilentPeer(int fd) {
  const int on = 1, idle = 5, interval = 2, count = 3;
  const unsigned int user_timeout_ms = 10000;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

}  // namespace

PgListener::PgListener(PgListenerOptions options, OnNotify on_notify, OnConnected on_connected)
    : options_(std::move(options)),
      server_(DescribeServer(options_.url)),
      on_notify_(std::move(on_notify)),
      on_connected_(std::move(on_connected)) {
  for (const std::string& channel : options_.channels) {
    if (!PlainIdentifier(channel)) {
      throw ConfigError("PostgreSQL listener: channel '" + channel +
                        "' is not a plain lower-case identifier");
    }
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw IoError("PostgreSQL listener: eventfd failed");
}

PgListener::~PgListener() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void PgListener::Start() {
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void PgListener::Stop() {
  std::lock_guard lock(thread_mu_);
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof one);
  thread_.join();
  uint64_t drained = 0;
  [[maybe_unused]] const ssize_t read_back = read(wake_fd_, &drained, sizeof drained);
}

bool PgListener::WaitUntilConnected(std::chrono::milliseconds timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!connected_ && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return connected_;
}

bool PgListener::Wait(int fd, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
  const int count = fd >= 0 ? 2 : 1;
  const int ready = poll(fds, count, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  if (stopping_) return false;
  return ready > 0 && count == 2 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

std::unique_ptr<PgConnection> PgListener::Connect() {
  // The listener's own statements (LISTEN, the keep-alive probe) are short:
  // the connect timeout bounds them too.
  auto connection = std::make_unique<PgConnection>(options_.url, options_.connect_timeout_ms,
                                                   options_.connect_timeout_ms, server_);
  BoundSilentPeer(connection->socket());
  for (const std::string& channel : options_.channels) {
    connection->Execute("LISTEN " + channel, "listen on " + channel);
  }
  backend_pid_ = static_cast<int>(
      connection->Execute("SELECT pg_backend_pid()", "listener's backend").Int(0, 0));
  return connection;
}

bool PgListener::Listen(PgConnection& connection) {
  Clock::time_point last_heard = Clock::now();
  while (!stopping_) {
    while (std::optional<PgNotification> notification = connection.NextNotification()) {
      try {
        on_notify_(*notification);
      } catch (const std::exception& e) {
        AppLog()->error("PostgreSQL {}: notification on {}: {}", server_, notification->channel,
                        e.what());
      }
    }
    const auto until_ping = options_.ping_interval - (Clock::now() - last_heard);
    const bool readable =
        Wait(connection.socket(),
             std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::max<Clock::duration>(until_ping, std::chrono::milliseconds(0))));
    if (stopping_) return false;
    try {
      if (readable) {
        connection.Poll();
        if (connection.broken()) throw StoreUnavailable("the server closed the connection");
      } else if (Clock::now() - last_heard >= options_.ping_interval) {
        connection.Execute("SELECT 1", "listener ping");
      } else {
        continue;
      }
      last_heard = Clock::now();
    } catch (const StoreError& e) {
      AppLog()->warn(
          "PostgreSQL {}: the notification listener lost its connection ({}); "
          "reconnecting",
          server_, e.what());
      return true;
    }
  }
  return false;
}

void PgListener::Run() {
  std::chrono::milliseconds pause = options_.retry_min;
  Clock::time_point lost_at{};
  bool logged_failure = false;
  while (!stopping_) {
    std::unique_ptr<PgConnection> connection;
    try {
      connection = Connect();
    } catch (const Error& e) {
      if (!logged_failure) {
        AppLog()->warn(
            "PostgreSQL {}: the notification listener cannot connect ({}); "
            "retrying every {} ms at most",
            server_, e.what(), options_.retry_max.count());
        logged_failure = true;
      }
      Wait(-1, pause);
      if (stopping_) return;
      pause = std::min(pause * 2, options_.retry_max);
      continue;
    }
    if (connections_++ > 0) {
      AppLog()->info(
          "PostgreSQL {}: the notification listener is connected again (after {} ms)", server_,
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - lost_at).count());
    }
    logged_failure = false;
    pause = options_.retry_min;
    connected_ = true;
    try {
      if (on_connected_) on_connected_();
    } catch (const std::exception& e) {
      AppLog()->error("PostgreSQL {}: after connecting the listener: {}", server_, e.what());
    }
    const bool broke = Listen(*connection);
    connected_ = false;
    backend_pid_ = 0;
    // Dropped here, broken or not: a fresh connection is opened next.
    connection.reset();
    if (!broke) return;
    lost_at = Clock::now();
  }
}

}  // namespace chatbot::db
