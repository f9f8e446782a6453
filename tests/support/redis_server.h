// A throwaway redis-server for tests: bound to 127.0.0.1 on a free port, in
// a temporary directory, with no persistence (no RDB snapshots, no AOF), a
// child process stopped by its PID. Stop() and Start() again reuse the same
// port, so that a client configured with the address sees Redis go away
// and come back (failover tests).
//
//   if (!RedisServer::Available()) CHATBOT_SKIP("redis-server is not installed");
//   RedisServer redis;
//   redis.Start();
//   ... "redis://127.0.0.1:" + std::to_string(redis.port()) ...
#ifndef CHATBOT_TESTS_SUPPORT_REDIS_SERVER_H_
#define CHATBOT_TESTS_SUPPORT_REDIS_SERVER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "temp_dir.h"

namespace chatbot::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();  // stops the server
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // redis-server on PATH (or in /usr/sbin, /usr/bin), if any.
  static std::optional<std::filesystem::path> Binary();
  static bool Available() { return Binary().has_value(); }

  // Starts it (on a free port the first time, on the same port after a
  // Stop) and waits until it answers PING. Throws std::runtime_error with
  // its log when it does not within `timeout`.
  void Start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM, then SIGKILL after two seconds; reaps it. Idempotent.
  void Stop();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  // redis://127.0.0.1:PORT/0
  std::string Url() const;
  // Sends one inline command and returns the first line of the answer
  // ("+PONG", ":1", "-ERR ..."); empty when there is no answer.
  std::string Command(const std::string& command) const;
  // What redis-server wrote so far (for assertion messages).
  std::string Log() const;

 private:
  test_support::TempDir dir_{"chatbot-redis"};
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_SUPPORT_REDIS_SERVER_H_
