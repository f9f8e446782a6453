// Connections to Redis (hiredis) for the shared rate limiter: where Redis
// is (a redis:// URL, the password possibly from a file), one connection
// with connect and command timeouts, and a pool of idle connections.
//
// The pool's mutex is held only to take or give back a connection, never
// during a round trip, so request threads wait for Redis, not for each
// other. A generation number marks the connections made before Redis was
// last seen down: they are closed when given back instead of kept, since a
// restarted Redis has broken them anyway.
#ifndef CHATBOT_SECURITY_REDIS_CONNECTION_H_
#define CHATBOT_SECURITY_REDIS_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace chatbot::security {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;  // empty: AUTH with the password alone
  std::string password;
  int db = 0;
  // "host:port/db", never the password (for messages).
  std::string Describe() const;
  // redis://[[user]:password@]host[:port][/db]. Throws ConfigError naming
  // what is wrong (the password is never repeated).
  static RedisEndpoint FromUrl(std::string_view url);
};

// hiredis's replies, freed on destruction.
struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection {
 public:
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects, authenticates and selects the database, each within
  // `timeout`. Null with *error set when any step fails.
  static std::unique_ptr<RedisConnection> Open(const RedisEndpoint& endpoint,
                                               std::chrono::milliseconds timeout,
                                               std::string* error);

  // One command, its arguments binary-safe. Null with *error set when the
  // connection failed (it is unusable then); an error reply is a reply.
  RedisReplyPtr Command(const std::vector<std::string_view>& args, std::string* error);

  uint64_t generation = 0;  // the pool's, when made

 private:
  explicit RedisConnection(redisContext* context) : context_(context) {}
  redisContext* context_;
};

class RedisConnectionPool {
 public:
  RedisConnectionPool(RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                      size_t max_idle = 64);

  // An idle connection, or a new one (null with *error when that fails).
  std::unique_ptr<RedisConnection> Take(std::string* error);
  // Keeps a connection that still works for the next Take.
  void Give(std::unique_ptr<RedisConnection> connection);
  // Closes the idle connections and marks those in use as stale.
  void Reset();

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  const RedisEndpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // guarded by mu_
  uint64_t generation_ = 0;                             // guarded by mu_
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_REDIS_CONNECTION_H_
