// One dedicated PostgreSQL connection that LISTENs on a few channels and
// hands every notification to a callback, on a thread of its own: how an
// instance hears at once what another one changed (docs/scaling.md, "How
// changes reach every instance").
//
// The connection is not the pool's: a LISTEN holds for the life of the
// session, and a pooled connection would lend it to requests. When it
// breaks (the server restarted, the backend was terminated, the network
// dropped it: noticed by the socket, or by a ping every ping_interval with
// TCP keep-alive bounding a silent peer), it is closed and dropped, and a
// fresh one is opened, retrying with a growing pause (retry_min doubling up
// to retry_max) until the server answers. Notifications sent while no
// connection listened are lost: after every (re)connection on_connected
// runs, for the owner to re-read what it follows.
#ifndef CHATBOT_DB_PG_LISTENER_H_
#define CHATBOT_DB_PG_LISTENER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/pg_connection.h"

namespace chatbot::db {

struct PgListenerOptions {
  std::string url;  // a libpq connection string
  int connect_timeout_ms = 2000;
  std::vector<std::string> channels;  // plain identifiers: [a-z0-9_]
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{2000};
  // An idle connection is checked with SELECT 1 this often.
  std::chrono::milliseconds ping_interval{5000};
};

class PgListener {
 public:
  using OnNotify = std::function<void(const PgNotification& notification)>;
  using OnConnected = std::function<void()>;

  // Throws ConfigError for a malformed URL or channel name. Connects only
  // in Start().
  PgListener(PgListenerOptions options, OnNotify on_notify, OnConnected on_connected);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Starts the thread, which connects (and keeps reconnecting) by itself.
  void Start();
  // Stops the thread and closes the connection. Idempotent.
  void Stop();

  // Whether a connection listens now.
  bool connected() const { return connected_.load(); }
  // Waits up to `timeout` for a connection to listen: what is committed
  // after it returns true is heard.
  bool WaitUntilConnected(std::chrono::milliseconds timeout) const;
  // Connections opened so far (the first, then one per reconnection).
  int64_t connections() const { return connections_.load(); }
  // The server process of the current connection (pg_backend_pid()), 0
  // when none: for tests that terminate it.
  int backend_pid() const { return backend_pid_.load(); }

 private:
  void Run();
  // Connects and LISTENs; null (logged) when that fails.
  std::unique_ptr<PgConnection> Connect();
  // Serves one connection until it breaks or Stop(); true when it broke.
  bool Listen(PgConnection& connection);
  // Waits up to `timeout` for `fd` (-1: none) to be readable or for Stop():
  // whether `fd` is readable (never after Stop()).
  bool Wait(int fd, std::chrono::milliseconds timeout);

  const PgListenerOptions options_;
  const std::string server_;
  OnNotify on_notify_;
  OnConnected on_connected_;
  int wake_fd_ = -1;  // an eventfd that Stop() writes to
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> connections_{0};
  std::atomic<int> backend_pid_{0};
  std::mutex thread_mu_;
  std::thread thread_;
};

}  // namespace chatbot::db

#endif  // CHATBOT_DB_PG_LISTENER_H_
