// HttpServer's implementation (http_server.h), private to the server: the
// state shared by the listener and the server's lifecycle (http_server.cc)
// and by the coroutine that serves one connection (http_connection.cc).
#ifndef CHATBOT_SERVER_HTTP_SERVER_IMPL_H_
#define CHATBOT_SERVER_HTTP_SERVER_IMPL_H_

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/http_server.h"
#include "server/http_wire.h"
#include "server/request_framing.h"
#include "server/server_stream.h"

namespace chatbot::server {
namespace internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Completion token that reports errors as values: timeouts, resets and
// cancellations are routine for a server and must not cost an exception.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Most bytes asked of the kernel per read.
constexpr size_t kReadChunk = 16384;
// A connection the server closes after a response is shut down for sending
// and then drained for at most this long (or this many bytes) before the
// socket is closed. Closing with unread request bytes makes the kernel send
// a reset, which can destroy the response (a 413, say) before the client has
// read it.
constexpr std::chrono::milliseconds kMaxLinger{1000};
constexpr size_t kMaxLingerBytes = 1 << 20;
// Connections rejected while at max_connections (or the limit per address)
// are answered 503 (429) by a small coroutine; past this many at once they are closed without an
// answer, so a connection flood cannot grow memory without bound.
constexpr int64_t kMaxRejecting = 256;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Which thread runs which server, so that Stop() from a handler (an I/O
// thread) does not join itself (http_server.cc).
extern thread_local const void* tls_io_thread_owner;

}  // namespace internal

using namespace internal;  // NOLINT: private to the server's own files

struct HttpServer::Impl {
  // What a connection is doing; read and written only on its own thread.
  enum class Phase {
    kIdle,     // waiting for the first byte of a request: Stop() may cancel
    kRequest,  // reading, handling or answering a request: Stop() lets it end
    kClosing,  // draining before close: Stop() may cancel
  };

  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(Impl* impl, ServerStream::Socket socket, std::shared_ptr<asio::ssl::context> tls,
               std::string address, const std::array<uint8_t, 16>& peer)
        : impl(impl),
          stream(std::move(socket), std::move(tls)),
          client_address(std::move(address)),
          peer(peer) {
      // Most requests then fit the first read.
      buffer.reserve(4096);
      request.peer_ip = peer;
    }
    ~Connection() { impl->Unregister(this); }

    Impl* const impl;
    internal::ServerStream stream;
    beast::flat_buffer buffer;
    Phase phase = Phase::kIdle;
    std::optional<http::request_parser<http::string_body>> parser;
    // Reused from request to request so their strings keep their capacity.
    HttpRequest request;
    HttpResponse response;
    std::string head;
    const std::string client_address;
    const std::array<uint8_t, 16> peer;  // counted in per_address
    std::optional<FramingError> framing_error;
  };

  enum class State { kNew, kRunning, kStopping, kStopped };

  Impl(HttpServerOptions o, std::shared_ptr<HttpHandler> h)
      : options(std::move(o)), handler(std::move(h)) {}

  void Start();
  void Stop();
  void Wait();
  void DoStop();

  // Accepts connections on `listener` (the TCP acceptor or the Unix-domain
  // one) until the server stops.
  template <typename Acceptor>
  asio::awaitable<void> Accept(Acceptor& listener);
  // Binds server.unix_socket; throws Error naming the path on failure.
  void ListenLocal();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  // The TLS handshake, when the connection is TLS; false when it failed.
  asio::awaitable<bool> Handshake(Connection& conn);
  void SetReadError(Connection& conn, ReadResult result);
  void TakeRequest(Connection& conn);
  asio::awaitable<ReadResult> ReadRequest(Connection& conn, Clock::time_point deadline);
  asio::awaitable<bool> Respond(Connection& conn, bool keep_alive, bool http10, bool head_only,
                                Clock::time_point start);
  asio::awaitable<void> Linger(internal::ServerStream& stream, beast::flat_buffer& buffer,
                               Phase* phase);
  // Answers `status` with the error `code` and `message` without reading the
  // request, then drains and closes (max_connections and the limit per
  // address).
  asio::awaitable<void> Reject(std::unique_ptr<internal::ServerStream> stream, std::string address,
                               int status, std::string code, std::string message);
  // Starts Reject for an accepted socket, or closes the socket at once when
  // kMaxRejecting rejections are already under way.
  void StartReject(asio::io_context& context, ServerStream::Socket socket, std::string address,
                   int status, std::string code, std::string message);
  // The handler, on this thread or (options.offload) on the worker pool.
  asio::awaitable<void> RunHandler(Connection& conn);
  void CallHandler(const HttpRequest& request, HttpResponse* response);

  bool Register(Connection* conn);
  void Unregister(Connection* conn);
  // Connections open from `peer` (for max_connections_per_address).
  int ConnectionsFrom(const std::array<uint8_t, 16>& peer) const;
  // Runs `fn(connection)` on each open connection's own thread.
  template <typename Fn>
  void ForEachConnection(Fn fn);
  bool Drained() const;  // requires mu
  bool OnIoThread() const { return tls_io_thread_owner == this; }

  const HttpServerOptions options;
  const std::shared_ptr<HttpHandler> handler;

  // Guards state, connections and accepting; cv signals their changes.
  mutable std::mutex mu;
  std::condition_variable cv;
  State state = State::kNew;
  std::unordered_set<Connection*> connections;
  // Open connections per client address, for max_connections_per_address
  // (only addresses with at least one).
  struct PeerHash {
    size_t operator()(const std::array<uint8_t, 16>& peer) const {
      return std::hash<std::string_view>()(
          std::string_view(reinterpret_cast<const char*>(peer.data()), peer.size()));
    }
  };
  std::unordered_map<std::array<uint8_t, 16>, int, PeerHash> per_address;
  int accepting = 0;  // accept coroutines still running
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> open{0};
  std::atomic<int64_t> rejecting{0};
  uint16_t bound_port = 0;

  // Runs Stop() when it was asked for from an I/O thread.
  std::thread stopper;
  std::vector<std::thread> threads;
  // Declared last so that it is destroyed first: destroying an io_context
  // destroys suspended coroutines, whose connections unregister from the
  // members above. The acceptor must go before its context.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::local::stream_protocol::acceptor> local_acceptor;  // server.unix_socket
  // The worker pool for offloaded requests, and how many are queued or
  // running there.
  std::unique_ptr<asio::io_context> workers;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> workers_work;
  std::vector<std::thread> worker_threads;
  std::atomic<int> offloaded{0};
  size_t next_context = 0;  // only the accept coroutine touches it
  // The TLS context new connections get (null: plain HTTP); swapped by
  // ReloadTls, held by each connection for its lifetime.
  std::atomic<std::shared_ptr<asio::ssl::context>> tls;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_HTTP_SERVER_IMPL_H_
