// The HTTP/1.1 server.
//
// Threads: one io_context per I/O thread (concurrency hint 1). The acceptor
// lives on the first context and hands accepted sockets round-robin to all of
// them, so every connection is served by exactly one thread and needs no
// strand or lock; only connection open/close touches shared state.
//
// Per connection, one coroutine reads, handles and answers requests one after
// another, which keeps pipelined responses in order. Requests are parsed by
// feeding the connection's flat_buffer to a beast parser directly (not through
// http::async_read), so that:
//   - a request whose bytes are already buffered costs no asynchronous
//     operation at all (pipelining, and the common one-segment request);
//   - the two timeouts are exact. The idle timeout covers waiting for the
//     first byte of the next request; the read timeout runs from that first
//     byte until the whole request (header and body) has been read;
//   - "Expect: 100-continue" can be answered between header and body.
//
// Timeouts and cancellation use beast::tcp_stream's expiry: when it fires,
// the socket is closed and the pending operation fails, ending the coroutine.
// Exact semantics:
//   - idle_timeout: from the end of a response (or the accept) to the first
//     byte of the next request; on expiry the connection closes silently.
//   - read_timeout: from the first byte of a request to its last byte; on
//     expiry the connection closes without an answer. A response the client
//     does not take within read_timeout also closes the connection.
//   - latency_us given to on_response: from the first byte of the request
//     (for a pipelined request: from when the server started on it, its
//     bytes being already there) to the completion of the response's write.
//   - max_connections: further connections are accepted, answered 503
//     "overloaded" with "Connection: close" without reading their request,
//     drained briefly and closed; they do not count in open_connections()
//     and are reported to on_response. Beyond kMaxRejecting such answers at
//     once, connections are closed without one.
//   - max_connections_per_address: the same for a client address that
//     already holds that many connections, answered 429
//     "too_many_connections" (with Retry-After).
//   - 400, 413 and 431 close the connection after the answer (the stream
//     cannot be framed any more); they are reported to on_response with the
//     method, target and X-Request-ID when the header could be parsed. So do
//     requests whose Transfer-Encoding cannot be framed (request_framing.h,
//     400 or 501), checked as soon as the header is parsed; an HTTP/1.0
//     request with Transfer-Encoding is answered and then closed (RFC 9112
//     section 6.1).
//   - offload: the handler runs on the worker pool (threads at a lower
//     priority than the I/O threads) while the connection's coroutine
//     waits without holding its I/O thread; past the queue limit, 503
//     "busy" with Retry-After.
//   - Stop(): the listener closes; connections waiting for a request close at
//     once; a request being read, handled or written is finished and answered
//     with "Connection: close". After shutdown_timeout the remaining sockets
//     are closed; then the I/O threads are joined (a handler still running
//     is waited for). Called from a handler, Stop() starts the shutdown on a
//     separate thread and returns; Wait() and the destructor wait for it.
//   - Wait() on a server that was never started returns at once.
//
// This file holds the listener and the lifecycle; the connection coroutine
// is http_connection.cc, the wire format http_wire.cc.
#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/cpu_count.h"
#include "common/error.h"
#include "server/http_server_impl.h"

namespace chatbot::server {

namespace internal {
thread_local const void* tls_io_thread_owner = nullptr;
}  // namespace internal

bool HttpServer::Impl::Register(Connection* conn) {
  std::lock_guard lock(mu);
  if (stopping.load(std::memory_order_relaxed)) return false;
  connections.insert(conn);
  ++per_address[conn->peer];
  open.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void HttpServer::Impl::Unregister(Connection* conn) {
  std::lock_guard lock(mu);
  if (connections.erase(conn) == 0) return;
  if (const auto it = per_address.find(conn->peer); it != per_address.end() && --it->second <= 0) {
    per_address.erase(it);
  }
  open.fetch_sub(1, std::memory_order_relaxed);
  if (stopping.load(std::memory_order_relaxed)) cv.notify_all();
}

int HttpServer::Impl::ConnectionsFrom(const std::array<uint8_t, 16>& peer) const {
  std::lock_guard lock(mu);
  const auto it = per_address.find(peer);
  return it == per_address.end() ? 0 : it->second;
}

bool HttpServer::Impl::Drained() const {
  return open.load() == 0 && rejecting.load() == 0 && accepting == 0;
}

template <typename Fn>
void HttpServer::Impl::ForEachConnection(Fn fn) {
  // The references are collected under the lock but used and dropped outside
  // it: dropping the last one destroys the connection, which unregisters
  // itself and so takes the lock.
  std::vector<std::shared_ptr<Connection>> open_now;
  {
    std::lock_guard lock(mu);
    open_now.reserve(connections.size());
    for (Connection* raw : connections) {
      // Null when the connection is already being destroyed (it unregisters
      // as soon as we release the lock): nothing to do for it.
      if (auto conn = raw->weak_from_this().lock()) open_now.push_back(std::move(conn));
    }
  }
  for (auto& conn : open_now) {
    auto executor = conn->stream.get_executor();
    asio::post(executor, [conn = std::move(conn), fn] { fn(*conn); });
  }
}

// ---------------------------------------------------------------------------
// Accepting.

template <typename Acceptor>
asio::awaitable<void> HttpServer::Impl::Accept(Acceptor& listener) {
  asio::steady_timer backoff(listener.get_executor());
  while (!stopping.load(std::memory_order_acquire)) {
    // Both accept coroutines run on the first context's thread, so they
    // share next_context without a lock.
    asio::io_context& context = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    auto [ec, accepted] = co_await listener.async_accept(context, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !listener.is_open()) break;
      // Out of descriptors (or a similar resource error): retrying at once
      // would spin; give closing connections a moment to free some.
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kNoThrow);
      }
      continue;  // connection_aborted and the like concern one client only
    }
    // A Unix-domain peer is a process on this machine: the access rules
    // (anonymous access, trusted_proxies, the limits per address) treat it
    // as 127.0.0.1, and the logs name the socket.
    tcp::endpoint remote(asio::ip::address_v4::loopback(), 0);
    std::string address;
    if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
      beast::error_code ignored;
      accepted.set_option(tcp::no_delay(true), ignored);
      remote = accepted.remote_endpoint(ignored);
      address = FormatAddress(remote);
    } else {
      address = "unix:" + options.unix_socket;
    }
    const std::array<uint8_t, 16> peer = PeerBytes(remote);
    ServerStream::Socket socket(std::move(accepted));

    if (open.load(std::memory_order_relaxed) >= options.max_connections) {
      StartReject(context, std::move(socket), std::move(address), 503, "overloaded",
                  "too many connections; retry later");
      continue;
    }
    // Only the accept coroutines register connections, and they share one
    // thread, so the count cannot grow between this check and Register.
    if (options.max_connections_per_address > 0 &&
        ConnectionsFrom(peer) >= options.max_connections_per_address) {
      StartReject(context, std::move(socket), std::move(address), 429, "too_many_connections",
                  "too many connections from this address; retry later");
      continue;
    }
    auto conn =
        std::make_shared<Connection>(this, std::move(socket), tls.load(), std::move(address), peer);
    if (!Register(conn.get())) break;  // Stop() began; conn closes here
    asio::co_spawn(context, Serve(std::move(conn)), [](std::exception_ptr) {});
  }
  std::lock_guard lock(mu);
  --accepting;
  cv.notify_all();
}

void HttpServer::Impl::StartReject(asio::io_context& context, ServerStream::Socket socket,
                                   std::string address, int status, std::string code,
                                   std::string message) {
  if (rejecting.fetch_add(1) >= kMaxRejecting) {
    rejecting.fetch_sub(1);
    return;  // the socket closes as it goes out of scope
  }
  asio::co_spawn(context,
                 Reject(std::make_unique<internal::ServerStream>(std::move(socket), tls.load()),
                        std::move(address), status, std::move(code), std::move(message)),
                 [](std::exception_ptr) {});
}

// Over a connection limit: answer without reading the request, then drain
// and close. Not counted in open_connections().
asio::awaitable<void> HttpServer::Impl::Reject(std::unique_ptr<internal::ServerStream> owned,
                                               std::string address, int status, std::string code,
                                               std::string message) {
  internal::ServerStream& stream = *owned;
  const Clock::time_point start = Clock::now();
  HttpRequest request;
  request.client_address = std::move(address);
  GenerateRequestId(&request.request_id);
  HttpResponse response;
  SetError(&response, status, code, message);
  response.headers.emplace_back("Retry-After", "1");
  std::string head;
  SerializeHead(response, request.request_id, /*keep_alive=*/false, /*http10=*/false,
                /*head_only=*/false, &head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
  stream.expires_after(std::min<std::chrono::milliseconds>(options.read_timeout, kMaxLinger));
  beast::error_code ec;
  if (stream.is_tls()) std::tie(ec) = co_await stream.async_handshake(kNoThrow);
  if (!ec)
    std::tie(ec, response.sent_bytes) = co_await asio::async_write(stream, buffers, kNoThrow);
  if (!ec) {
    if (options.on_response) {
      try {
        options.on_response(
            request, response,
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
      } catch (...) {
        // The access log must not take the server down.
      }
    }
    beast::flat_buffer buffer;
    Phase phase = Phase::kClosing;
    co_await Linger(stream, buffer, &phase);
  }
  std::lock_guard lock(mu);
  rejecting.fetch_sub(1);
  if (stopping.load(std::memory_order_relaxed)) cv.notify_all();
}

// ---------------------------------------------------------------------------
// Lifecycle.

void HttpServer::Impl::Start() {
  std::unique_lock lock(mu);
  if (state != State::kNew) throw Error("HTTP server: Start() called twice");

  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // "[::1]"
  }
  const std::string where = options.host + ":" + std::to_string(options.port);

  int thread_count = options.threads;
  if (thread_count <= 0) thread_count = UsableCores();
  for (int i = 0; i < thread_count; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
  }

  std::string failure;  // why no address could be bound, if none could
  {
    beast::error_code ec;
    tcp::resolver resolver(*contexts[0]);
    auto endpoints = resolver.resolve(host, std::to_string(options.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) {
      failure = ec.message();
    } else {
      failure = beast::error_code(asio::error::host_not_found).message();
      for (const auto& entry : endpoints) {
        auto candidate = std::make_unique<tcp::acceptor>(*contexts[0]);
        const tcp::endpoint endpoint = entry.endpoint();
        candidate->open(endpoint.protocol(), ec);
        if (!ec) candidate->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) candidate->bind(endpoint, ec);
        // The kernel caps the backlog at net.core.somaxconn.
        if (!ec) candidate->listen(4096, ec);
        if (!ec) {
          acceptor = std::move(candidate);
          break;
        }
        failure = ec.message();
      }
    }
  }
  if (!acceptor) {
    contexts.clear();
    throw Error("cannot listen on " + where + ": " + failure);
  }
  beast::error_code ec;
  bound_port = acceptor->local_endpoint(ec).port();
  try {
    if (options.tls.enabled()) tls.store(LoadTlsContext(options.tls));
    if (!options.unix_socket.empty()) ListenLocal();
  } catch (...) {
    acceptor.reset();
    contexts.clear();
    throw;
  }

  if (options.offload) {
    workers = std::make_unique<asio::io_context>();
    workers_work.emplace(asio::make_work_guard(*workers));
    for (int i = 0; i < std::max(1, options.offload_threads); ++i) {
      worker_threads.emplace_back([io = workers.get()] {
        // Below the I/O threads, so that a machine busy with expensive
        // requests still answers the cheap ones promptly.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
        for (;;) {
          try {
            io->run();
            break;
          } catch (...) {
            // A handler's exception is caught in CallHandler; keep serving.
          }
        }
      });
    }
  }

  accepting = local_acceptor ? 2 : 1;
  asio::co_spawn(*contexts[0], Accept(*acceptor), [](std::exception_ptr) {});
  if (local_acceptor) {
    asio::co_spawn(*contexts[0], Accept(*local_acceptor), [](std::exception_ptr) {});
  }
  for (auto& context : contexts) work.push_back(asio::make_work_guard(*context));
  for (auto& context : contexts) {
    threads.emplace_back([this, io = context.get()] {
      tls_io_thread_owner = this;
      for (;;) {
        try {
          io->run();
          break;
        } catch (...) {
          // Every coroutine catches its own failures; this is a last resort
          // so one stray exception cannot stop a thread's connections.
        }
      }
    });
  }
  state = State::kRunning;
}

void HttpServer::Impl::ListenLocal() {
  const std::string& path = options.unix_socket;
  const std::string where = "cannot listen on unix socket " + path + ": ";
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw Error(where + "the path is longer than " +
                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  struct stat status {};
  if (::lstat(path.c_str(), &status) == 0) {
    if (!S_ISSOCK(status.st_mode)) throw Error(where + "a file that is not a socket is there");
    // The socket file of a process that did not stop cleanly (SIGKILL)
    // stays behind. It is replaced only when nothing answers on it, so a
    // second instance cannot take over a running one's socket.
    asio::local::stream_protocol::socket probe(*contexts[0]);
    beast::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) throw Error(where + "another process is listening on it");
    ::unlink(path.c_str());
  }
  auto candidate = std::make_unique<asio::local::stream_protocol::acceptor>(*contexts[0]);
  const asio::local::stream_protocol::endpoint endpoint(path);
  beast::error_code ec;
  candidate->open(endpoint.protocol(), ec);
  if (!ec) candidate->bind(endpoint, ec);
  if (!ec) candidate->listen(4096, ec);
  if (ec) throw Error(where + ec.message());
  // Connecting takes write permission on the file. This mode gives the
  // socket the reach of a loopback port (any local user); a directory that
  // only the proxy's user may enter narrows it.
  ::chmod(path.c_str(), 0666);
  local_acceptor = std::move(candidate);
}

void HttpServer::Impl::Stop() {
  {
    std::unique_lock lock(mu);
    switch (state) {
      case State::kNew:
        state = State::kStopped;
        cv.notify_all();
        return;
      case State::kStopped:
        return;
      case State::kStopping:
        if (!OnIoThread()) cv.wait(lock, [this] { return state == State::kStopped; });
        return;
      case State::kRunning:
        state = State::kStopping;
        // Set here, not in DoStop(), so that a handler calling Stop() sees
        // its own response go out with "Connection: close".
        stopping.store(true, std::memory_order_release);
        break;
    }
    if (OnIoThread()) {
      // A handler asked to stop: the I/O threads cannot join themselves.
      stopper = std::thread([this] { DoStop(); });
      return;
    }
  }
  DoStop();
}

void HttpServer::Impl::DoStop() {
  // Acceptor operations belong to its own thread.
  asio::post(*contexts[0], [this] {
    beast::error_code ignored;
    acceptor->close(ignored);
    if (local_acceptor) local_acceptor->close(ignored);
  });
  // Idle connections close now; the others finish their request first and
  // then close, since `stopping` turns off keep-alive.
  // A connection counts as idle while its coroutine waits to read, even when
  // a whole request already sits in its socket (its thread was busy with
  // another connection): such a request was sent before the stop and is
  // answered, so only connections with nothing pending are cancelled.
  ForEachConnection([](Connection& conn) {
    if (conn.phase == Phase::kRequest) return;
    beast::error_code ec;
    if (conn.buffer.size() == 0 && conn.stream.socket().available(ec) == 0) conn.stream.cancel();
  });

  const auto deadline = Clock::now() + options.shutdown_timeout;
  bool drained;
  {
    std::unique_lock lock(mu);
    drained = cv.wait_until(lock, deadline, [this] { return Drained(); });
  }
  if (!drained) {
    // Out of patience: close what is left, then give the coroutines a moment
    // to unwind (a handler still running delays its thread, not this wait).
    ForEachConnection([](Connection& conn) { conn.stream.close(); });
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(1), [this] { return Drained(); });
  }

  work.clear();
  for (auto& context : contexts) context->stop();
  for (auto& thread : threads) thread.join();
  threads.clear();
  // A handler still running on a worker finishes before the connections it
  // writes into are destroyed with the contexts below.
  workers_work.reset();
  for (auto& thread : worker_threads) thread.join();
  worker_threads.clear();
  workers.reset();
  // Destroys coroutines that never finished (their connections unregister).
  acceptor.reset();
  if (local_acceptor) {
    local_acceptor.reset();
    ::unlink(options.unix_socket.c_str());
  }
  contexts.clear();

  std::lock_guard lock(mu);
  state = State::kStopped;
  cv.notify_all();
}

void HttpServer::Impl::Wait() {
  std::unique_lock lock(mu);
  cv.wait(lock, [this] { return state == State::kStopped || state == State::kNew; });
}

// ---------------------------------------------------------------------------

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<HttpHandler> handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  impl_->Stop();
  if (impl_->stopper.joinable()) impl_->stopper.join();
}

void HttpServer::Start() {
  impl_->Start();
}

void HttpServer::ReloadTls() {
  if (!impl_->options.tls.enabled()) return;
  impl_->tls.store(LoadTlsContext(impl_->options.tls));
}

uint16_t HttpServer::port() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bound_port;
}

void HttpServer::Stop() {
  impl_->Stop();
}

void HttpServer::Wait() {
  impl_->Wait();
}

int64_t HttpServer::open_connections() const {
  return impl_->open.load(std::memory_order_relaxed);
}

}  // namespace chatbot::server
