// The HTTP/1.1 server: Boost.Beast over Asio with C++20 coroutines, one
// coroutine per connection, a pool of I/O threads.
//
// Keep-alive and pipelining (requests on one connection are answered in
// order), limits on header and body size (431 / 413), a read timeout for a
// started request and an idle timeout between requests (slow clients are
// cut off), a maximum number of connections, and graceful shutdown: Stop()
// closes the listener, lets in-flight requests finish within the deadline,
// then closes the rest. A maximum number of connections per client address,
// so that one address cannot take every slot. Plain HTTP, or HTTPS when options.tls has a
// certificate (tls_context.h; each connection's stream is server_stream.h).
#ifndef CHATBOT_SERVER_HTTP_SERVER_H_
#define CHATBOT_SERVER_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/http_types.h"
#include "server/tls_context.h"

namespace chatbot::server {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;  // 0: any free port
  int threads = 0;       // 0: one per core
  // A Unix-domain socket to serve on as well (empty: none): a proxy on the
  // same machine reaches the instance through it at less cost per request
  // than through TCP. Its peers are served as loopback clients (127.0.0.1)
  // and named "unix:<path>" as the client address.
  // A socket file left by a killed process is replaced; any other file, or
  // a socket something still listens on, fails Start().
  std::string unix_socket;
  int max_connections = 10000;
  // Connections one client address may hold at once; beyond that, further
  // ones from it are answered 429 and closed. 0: no limit per address.
  int max_connections_per_address = 0;
  size_t max_body_bytes = 65536;
  size_t max_header_bytes = 16384;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds shutdown_timeout{10000};
  // HTTPS when tls.certificate is set (then plain HTTP is not served); a
  // client that does not complete the handshake within read_timeout is
  // dropped.
  TlsOptions tls;
  // Requests for which this returns true run on a separate pool of
  // offload_threads workers instead of the I/O thread, so that an expensive
  // request (a session search) cannot hold up the other connections that
  // thread serves. At most offload_queue of them wait for a worker; beyond
  // that they are answered 503 with Retry-After. Called on the I/O thread.
  std::function<bool(const HttpRequest&)> offload;
  int offload_threads = 1;
  int offload_queue = 16;
  // Called once per finished request (for the access log), on the I/O
  // thread: the request, the response and the time from the request's first
  // byte to the response written, in microseconds.
  std::function<void(const HttpRequest&, const HttpResponse&, int64_t latency_us)> on_response;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, std::shared_ptr<HttpHandler> handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (throws Error naming the address on failure, or
  // ConfigError for an unusable certificate), then starts the I/O threads
  // and returns.
  void Start();
  // Loads the certificate and key again (SIGHUP): new connections use them,
  // open ones keep theirs. Throws ConfigError, keeping the old ones, when
  // they do not load. Does nothing for plain HTTP.
  void ReloadTls();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Graceful shutdown as described above; returns when every thread ended.
  void Stop();
  // Blocks until Stop() has completed (from another thread or a signal).
  void Wait();

  int64_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_HTTP_SERVER_H_
