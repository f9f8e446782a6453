#include "security/redis_connection.h"

#include <fmt/format.h>
#include <hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>

#include "common/error.h"

namespace chatbot::security {
namespace {

timeval ToTimeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

int ParseNumber(std::string_view text, std::string_view what, std::string_view url_for_error) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    throw ConfigError(
        fmt::format("Redis URL '{}': the {} '{}' is not a number", url_for_error, what, text));
  }
  return value;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  return fmt::format("{}:{}/{}", host, port, db);
}

RedisEndpoint RedisEndpoint::FromUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    throw ConfigError("Redis URL must start with redis:// (redis://[:password@]host[:port][/db])");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
  // Messages show the URL without its credentials.
  std::string shown(url);
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    shown = std::string(kScheme) + "***@" + std::string(rest);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      endpoint.password = credentials;
    } else {
      endpoint.user = credentials.substr(0, colon);
      endpoint.password = credentials.substr(colon + 1);
    }
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) endpoint.db = ParseNumber(db, "database", shown);
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:6379
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      throw ConfigError(fmt::format("Redis URL '{}': '[' without ']'", shown));
    }
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    rest = rest.substr(1, close - 1);
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (!port.empty()) endpoint.port = ParseNumber(port, "port", shown);
  if (rest.empty()) throw ConfigError(fmt::format("Redis URL '{}' names no host", shown));
  if (endpoint.port == 0 || endpoint.port > 65535) {
    throw ConfigError(fmt::format("Redis URL '{}': port {} is out of range", shown, endpoint.port));
  }
  endpoint.host = rest;
  return endpoint;
}

void RedisReplyDeleter::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

RedisConnection::~RedisConnection() {
  redisFree(context_);
}

std::unique_ptr<RedisConnection> RedisConnection::Open(const RedisEndpoint& endpoint,
                                                       std::chrono::milliseconds timeout,
                                                       std::string* error) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(timeout));
  if (context == nullptr) {
    *error = "cannot allocate a Redis connection";
    return nullptr;
  }
  if (context->err != 0) {
    *error = fmt::format("cannot connect to Redis at {}: {}", endpoint.Describe(), context->errstr);
    redisFree(context);
    return nullptr;
  }
  std::unique_ptr<RedisConnection> connection(new RedisConnection(context));
  if (redisSetTimeout(context, ToTimeval(timeout)) != REDIS_OK) {
    *error = fmt::format("cannot set the Redis timeout: {}", context->errstr);
    return nullptr;
  }
  const auto expect_ok = [&](const std::vector<std::string_view>& args, std::string_view what) {
    const RedisReplyPtr reply = connection->Command(args, error);
    if (reply == nullptr) return false;
    if (reply->type == REDIS_REPLY_ERROR) {
      *error = fmt::format("Redis at {} refused {}: {}", endpoint.Describe(), what,
                           std::string_view(reply->str, reply->len));
      return false;
    }
    return true;
  };
  if (!endpoint.password.empty()) {
    const bool ok = endpoint.user.empty()
                        ? expect_ok({"AUTH", endpoint.password}, "the password")
                        : expect_ok({"AUTH", endpoint.user, endpoint.password}, "the user");
    if (!ok) return nullptr;
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    if (!expect_ok({"SELECT", db}, "SELECT " + db)) return nullptr;
  }
  return connection;
}

RedisReplyPtr RedisConnection::Command(const std::vector<std::string_view>& args,
                                       std::string* error) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    *error = context_->err != 0 ? std::string(context_->errstr) : "no reply from Redis";
    if (context_->err == REDIS_ERR_IO && errno == EAGAIN) *error = "Redis did not answer in time";
  }
  return RedisReplyPtr(reply);
}

RedisConnectionPool::RedisConnectionPool(RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                                         size_t max_idle)
    : endpoint_(std::move(endpoint)), timeout_(timeout), max_idle_(max_idle) {}

std::unique_ptr<RedisConnection> RedisConnectionPool::Take(std::string* error) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<RedisConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    generation = generation_;
  }
  std::unique_ptr<RedisConnection> connection = RedisConnection::Open(endpoint_, timeout_, error);
  if (connection != nullptr) connection->generation = generation;
  return connection;
}

void RedisConnectionPool::Give(std::unique_ptr<RedisConnection> connection) {
  std::lock_guard lock(mu_);
  if (connection->generation == generation_ && idle_.size() < max_idle_) {
    idle_.push_back(std::move(connection));
    return;
  }
  // Closed outside the pool's use: the destructor only frees memory and
  // closes a socket, no round trip.
}

void RedisConnectionPool::Reset() {
  std::vector<std::unique_ptr<RedisConnection>> closing;
  std::lock_guard lock(mu_);
  ++generation_;
  closing.swap(idle_);
}

}  // namespace chatbot::security
