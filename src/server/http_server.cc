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
#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/error.h"
#include "server/request_framing.h"
#include "server/server_stream.h"

namespace chatbot::server {

namespace {

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
// Connections rejected while at max_connections are answered 503 by a small
// coroutine; past this many at once they are closed without an answer, so a
// connection flood cannot grow memory without bound.
constexpr int64_t kMaxRejecting = 256;
// Response bodies above this are not kept for reuse by the next request.
constexpr size_t kMaxRetainedBody = 1 << 16;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Which thread runs which server, so that Stop() from a handler (an I/O
// thread) does not join itself.
thread_local const void* tls_io_thread_owner = nullptr;

// ---------------------------------------------------------------------------
// Small helpers.

std::string_view ToStd(beast::string_view s) {
  return {s.data(), s.size()};
}

void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, end);
}

void ToLowerAscii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// 1..128 printable ASCII characters: anything else (empty, too long, control
// or non-ASCII bytes) could break the log line or the response header it is
// copied into, so such an ID is replaced by a generated one.
bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// 16 hex digits from a per-thread xorshift64* generator: unique enough to
// correlate log lines, and far cheaper than a UUID from random_device.
void GenerateRequestId(std::string* out) {
  thread_local uint64_t state = [] {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    seed ^= static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    return seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
  }();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  uint64_t v = state * 0x2545f4914f6cdd1dULL;
  static constexpr char kHex[] = "0123456789abcdef";
  out->resize(16);
  for (int i = 15; i >= 0; --i) {
    (*out)[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

// The Date header value, formatted at most once per second per thread.
std::string_view HttpDate() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {text, length};
}

// The address as 16 bytes, IPv4 mapped into IPv6 (HttpRequest::peer_ip).
std::array<uint8_t, 16> PeerBytes(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  if (address.is_v6()) return address.to_v6().to_bytes();
  return asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
}

std::string FormatAddress(const tcp::endpoint& endpoint) {
  asio::ip::address address = endpoint.address();
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the log
  // should show the address the client actually has.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  std::string out;
  if (address.is_v6()) {
    out = "[" + address.to_string() + "]:";
  } else {
    out = address.to_string() + ":";
  }
  AppendNumber(&out, endpoint.port());
  return out;
}

// Headers the server writes itself; a handler's copy would duplicate them or
// contradict the framing.
bool IsReservedHeader(std::string_view name) {
  static constexpr std::string_view kReserved[] = {
      "content-length", "transfer-encoding", "connection",   "server",
      "date",           "x-request-id",      "content-type", "keep-alive"};
  for (std::string_view reserved : kReserved) {
    if (beast::iequals(beast::string_view(name.data(), name.size()),
                       beast::string_view(reserved.data(), reserved.size()))) {
      return true;
    }
  }
  return false;
}

// Refuses names and values that would let a handler split the response.
bool SafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  }
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void SetError(HttpResponse* response, int status, std::string_view code, std::string_view message) {
  response->status = status;
  response->content_type = "application/json";
  response->headers.clear();
  response->body.clear();
  response->body.append(R"({"error":{"code":")")
      .append(code)
      .append(R"(","message":")")
      .append(message)
      .append("\"}}");
}

void ResetResponse(HttpResponse* response) {
  response->status = 200;
  response->content_type.assign("application/json");
  response->headers.clear();
  if (response->body.capacity() > kMaxRetainedBody) {
    std::string().swap(response->body);
  } else {
    response->body.clear();
  }
}

// Writes the status line and headers of `response` into *out.
// `head_only`: the request was HEAD, so the body is announced but not sent.
// Returns whether the body is to be sent.
bool SerializeHead(const HttpResponse& response, std::string_view request_id, bool keep_alive,
                   bool http10, bool head_only, std::string* out) {
  const int status = response.status;
  // 204 and 304 never carry a body, and 204 not even a Content-Length.
  const bool no_content = status == 204 || status == 304;
  out->clear();
  out->append("HTTP/1.1 ");
  AppendNumber(out, static_cast<uint64_t>(status));
  out->push_back(' ');
  beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  if (!reason.starts_with('<')) out->append(reason.data(), reason.size());  // "<unknown-status>"
  out->append("\r\nServer: chatbot\r\nDate: ");
  out->append(HttpDate());
  out->append("\r\nX-Request-ID: ");
  out->append(request_id);
  if (!response.content_type.empty() && SafeHeader("content-type", response.content_type)) {
    out->append("\r\nContent-Type: ");
    out->append(response.content_type);
  }
  if (status != 204) {
    out->append("\r\nContent-Length: ");
    AppendNumber(out, no_content ? 0 : response.body.size());
  }
  for (const auto& [name, value] : response.headers) {
    if (!SafeHeader(name, value) || IsReservedHeader(name)) continue;
    out->append("\r\n");
    out->append(name);
    out->append(": ");
    out->append(value);
  }
  if (!keep_alive) {
    out->append("\r\nConnection: close");
  } else if (http10) {
    out->append("\r\nConnection: keep-alive");
  }
  out->append("\r\n\r\n");
  return !head_only && !no_content && !response.body.empty();
}

// Why a request could not be read.
enum class ReadResult {
  kComplete,        // a whole request is parsed
  kClosed,          // EOF, timeout, reset, cancellation: close without answer
  kBadRequest,      // 400
  kHeaderTooLarge,  // 431
  kBodyTooLarge,    // 413
  kBadFraming,      // Connection::framing_error says why
};

ReadResult Classify(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return ReadResult::kHeaderTooLarge;
  if (ec == http::error::body_limit) return ReadResult::kBodyTooLarge;
  if (ec == http::error::bad_transfer_encoding) return ReadResult::kBadFraming;
  return ReadResult::kBadRequest;
}

}  // namespace

// ---------------------------------------------------------------------------

struct HttpServer::Impl {
  // What a connection is doing; read and written only on its own thread.
  enum class Phase {
    kIdle,     // waiting for the first byte of a request: Stop() may cancel
    kRequest,  // reading, handling or answering a request: Stop() lets it end
    kClosing,  // draining before close: Stop() may cancel
  };

  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(Impl* impl, tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
               std::string address, const std::array<uint8_t, 16>& peer)
        : impl(impl),
          stream(std::move(socket), std::move(tls)),
          client_address(std::move(address)) {
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
    std::optional<FramingError> framing_error;
  };

  enum class State { kNew, kRunning, kStopping, kStopped };

  Impl(HttpServerOptions o, std::shared_ptr<HttpHandler> h)
      : options(std::move(o)), handler(std::move(h)) {}

  void Start();
  void Stop();
  void Wait();
  void DoStop();

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  asio::awaitable<ReadResult> ReadRequest(Connection& conn, Clock::time_point deadline);
  asio::awaitable<bool> Respond(Connection& conn, bool keep_alive, bool http10, bool head_only,
                                Clock::time_point start);
  asio::awaitable<void> Linger(internal::ServerStream& stream, beast::flat_buffer& buffer,
                               Phase* phase);
  asio::awaitable<void> Reject(std::unique_ptr<internal::ServerStream> stream, std::string address);
  // The handler, on this thread or (options.offload) on the worker pool.
  asio::awaitable<void> RunHandler(Connection& conn);
  void CallHandler(const HttpRequest& request, HttpResponse* response);

  bool Register(Connection* conn);
  void Unregister(Connection* conn);
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
  bool accepting = false;
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

bool HttpServer::Impl::Register(Connection* conn) {
  std::lock_guard lock(mu);
  if (stopping.load(std::memory_order_relaxed)) return false;
  connections.insert(conn);
  open.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void HttpServer::Impl::Unregister(Connection* conn) {
  std::lock_guard lock(mu);
  if (connections.erase(conn) == 0) return;
  open.fetch_sub(1, std::memory_order_relaxed);
  if (stopping.load(std::memory_order_relaxed)) cv.notify_all();
}

bool HttpServer::Impl::Drained() const {
  return open.load() == 0 && rejecting.load() == 0 && !accepting;
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

asio::awaitable<void> HttpServer::Impl::Accept() {
  asio::steady_timer backoff(acceptor->get_executor());
  while (!stopping.load(std::memory_order_acquire)) {
    asio::io_context& context = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    auto [ec, socket] = co_await acceptor->async_accept(context, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) break;
      // Out of descriptors (or a similar resource error): retrying at once
      // would spin; give closing connections a moment to free some.
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kNoThrow);
      }
      continue;  // connection_aborted and the like concern one client only
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    tcp::endpoint remote = socket.remote_endpoint(ignored);
    std::string address = FormatAddress(remote);
    const std::array<uint8_t, 16> peer = PeerBytes(remote);

    if (open.load(std::memory_order_relaxed) >= options.max_connections) {
      if (rejecting.fetch_add(1) >= kMaxRejecting) {
        rejecting.fetch_sub(1);
        continue;  // the socket closes as it goes out of scope
      }
      asio::co_spawn(context,
                     Reject(std::make_unique<internal::ServerStream>(std::move(socket), tls.load()),
                            std::move(address)),
                     [](std::exception_ptr) {});
      continue;
    }
    auto conn =
        std::make_shared<Connection>(this, std::move(socket), tls.load(), std::move(address), peer);
    if (!Register(conn.get())) break;  // Stop() began; conn closes here
    asio::co_spawn(context, Serve(std::move(conn)), [](std::exception_ptr) {});
  }
  std::lock_guard lock(mu);
  accepting = false;
  cv.notify_all();
}

// Over max_connections: answer 503 without reading the request, then drain
// and close. Not counted in open_connections().
asio::awaitable<void> HttpServer::Impl::Reject(std::unique_ptr<internal::ServerStream> owned,
                                               std::string address) {
  internal::ServerStream& stream = *owned;
  const Clock::time_point start = Clock::now();
  HttpRequest request;
  request.client_address = std::move(address);
  GenerateRequestId(&request.request_id);
  HttpResponse response;
  SetError(&response, 503, "overloaded", "too many connections; retry later");
  std::string head;
  SerializeHead(response, request.request_id, /*keep_alive=*/false, /*http10=*/false,
                /*head_only=*/false, &head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
  stream.expires_after(std::min<std::chrono::milliseconds>(options.read_timeout, kMaxLinger));
  beast::error_code ec;
  if (stream.is_tls()) std::tie(ec) = co_await stream.async_handshake(kNoThrow);
  if (!ec) std::tie(ec, std::ignore) = co_await asio::async_write(stream, buffers, kNoThrow);
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
// Serving one connection.

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> conn) {
  internal::ServerStream& stream = conn->stream;
  beast::flat_buffer& buffer = conn->buffer;
  try {
    if (stream.is_tls()) {
      // The handshake is bounded like the reading of a request.
      conn->phase = Phase::kRequest;
      stream.expires_after(options.read_timeout);
      auto [ec] = co_await stream.async_handshake(kNoThrow);
      if (ec) {
        beast::error_code ignored;
        stream.socket().close(ignored);
        co_return;
      }
    }
    for (;;) {
      // Wait for the first byte of the next request under the idle timeout,
      // unless a pipelined request is already buffered.
      if (buffer.size() == 0) {
        if (stopping.load(std::memory_order_acquire)) {
          beast::error_code ec;
          if (stream.socket().available(ec) == 0) break;  // else answer what was sent
        }
        conn->phase = Phase::kIdle;
        stream.expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(
            buffer.prepare(beast::read_size(buffer, kReadChunk)), kNoThrow);
        if (ec) break;  // client closed, idle timeout, or Stop()
        buffer.commit(n);
      }
      conn->phase = Phase::kRequest;
      const Clock::time_point start = Clock::now();

      conn->parser.emplace();
      auto& parser = *conn->parser;
      parser.eager(true);
      parser.header_limit(static_cast<uint32_t>(
          std::min<size_t>(options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
      parser.body_limit(options.max_body_bytes);

      const ReadResult result = co_await ReadRequest(*conn, start + options.read_timeout);
      if (result == ReadResult::kClosed) break;

      HttpRequest& request = conn->request;
      HttpResponse& response = conn->response;
      ResetResponse(&response);
      if (result != ReadResult::kComplete) {
        // Whatever of the request was understood goes to the access log.
        request.method.clear();
        request.target.clear();
        request.path.clear();
        request.query.clear();
        request.headers.clear();
        request.body.clear();
        request.client_address = conn->client_address;
        GenerateRequestId(&request.request_id);
        if (parser.is_header_done()) {
          const auto& message = parser.get();
          request.method.assign(ToStd(message.method_string()));
          request.target.assign(ToStd(message.target()));
          std::string_view id = ToStd(message["X-Request-ID"]);
          if (ValidRequestId(id)) request.request_id.assign(id);
        }
        if (result == ReadResult::kBodyTooLarge) {
          std::string message = "request body exceeds ";
          AppendNumber(&message, options.max_body_bytes);
          message += " bytes";
          SetError(&response, 413, "payload_too_large", message);
        } else if (result == ReadResult::kBadFraming) {
          const FramingError error = conn->framing_error.value_or(FramingError{
              400, "Transfer-Encoding is combined with Content-Length or repeated after chunked"});
          SetError(&response, error.status, error.status == 501 ? "not_implemented" : "bad_request",
                   error.message);
        } else if (result == ReadResult::kHeaderTooLarge) {
          std::string message = "request header exceeds ";
          AppendNumber(&message, options.max_header_bytes);
          message += " bytes";
          SetError(&response, 431, "header_too_large", message);
        } else {
          SetError(&response, 400, "bad_request", "malformed HTTP request");
        }
        // The rest of the stream cannot be framed any more: close.
        if (co_await Respond(*conn, /*keep_alive=*/false, /*http10=*/false, /*head_only=*/false,
                             start)) {
          co_await Linger(stream, buffer, &conn->phase);
        }
        break;
      }

      auto& message = parser.get();
      request.method.assign(ToStd(message.method_string()));
      request.target.assign(ToStd(message.target()));
      const std::string_view target = request.target;
      const size_t question = target.find('?');
      if (question == std::string_view::npos) {
        request.path.assign(target);
        request.query.clear();
      } else {
        request.path.assign(target.substr(0, question));
        request.query.assign(target.substr(question + 1));
      }
      size_t count = 0;
      for (const auto& field : message) {
        if (count == request.headers.size()) request.headers.emplace_back();
        auto& [name, value] = request.headers[count++];
        name.assign(ToStd(field.name_string()));
        ToLowerAscii(&name);
        value.assign(ToStd(field.value()));
      }
      request.headers.resize(count);
      request.body = std::move(message.body());
      if (request.client_address.empty()) request.client_address = conn->client_address;
      std::string_view id = ToStd(message["X-Request-ID"]);
      if (ValidRequestId(id)) {
        request.request_id.assign(id);
      } else {
        GenerateRequestId(&request.request_id);
      }
      const bool head_only = message.method() == http::verb::head;
      const bool http10 = message.version() < 11;
      // HTTP/1.0 framing with Transfer-Encoding is faulty (RFC 9112 6.1).
      const bool keep_alive =
          message.keep_alive() &&
          !(http10 && message.find(http::field::transfer_encoding) != message.end());

      co_await RunHandler(*conn);

      // Decided after the handler ran, so that a request in flight when
      // Stop() was called is answered with "Connection: close".
      const bool again = keep_alive && !stopping.load(std::memory_order_acquire);
      if (!co_await Respond(*conn, again, http10, head_only, start)) break;
      if (!again) {
        // A client that asked to close has usually sent nothing more; only
        // when more bytes are already here is draining worth a wait.
        beast::error_code ec;
        if (buffer.size() > 0 || stream.socket().available(ec) > 0) {
          co_await Linger(stream, buffer, &conn->phase);
        }
        break;
      }
    }
  } catch (...) {
    // Out of memory or a similar failure: give up on this connection only.
  }
  beast::error_code ignored;
  stream.socket().close(ignored);
}

void HttpServer::Impl::CallHandler(const HttpRequest& request, HttpResponse* response) {
  try {
    handler->Handle(request, response);
    if (response->status < 200 || response->status > 599) {
      throw std::logic_error("handler set an invalid status");
    }
  } catch (...) {
    // Whatever went wrong is the server's business, not the client's.
    SetError(response, 500, "internal", "internal error");
  }
}

asio::awaitable<void> HttpServer::Impl::RunHandler(Connection& conn) {
  if (!workers || !options.offload || !options.offload(conn.request)) {
    CallHandler(conn.request, &conn.response);
    co_return;
  }
  const int limit = std::max(1, options.offload_threads) + std::max(0, options.offload_queue);
  if (offloaded.fetch_add(1) >= limit) {
    offloaded.fetch_sub(1);
    SetError(&conn.response, 503, "busy",
             "too many expensive requests are being served; retry later");
    conn.response.headers.emplace_back("Retry-After", "1");
    co_return;
  }
  // The coroutine resumes on its own I/O thread once the worker is done;
  // until then that thread serves its other connections.
  co_await asio::co_spawn(
      workers->get_executor(),
      [this, &conn]() -> asio::awaitable<void> {
        CallHandler(conn.request, &conn.response);
        co_return;
      },
      asio::use_awaitable);
  offloaded.fetch_sub(1);
}

asio::awaitable<ReadResult> HttpServer::Impl::ReadRequest(Connection& conn,
                                                          Clock::time_point deadline) {
  auto& parser = *conn.parser;
  beast::flat_buffer& buffer = conn.buffer;
  bool continue_sent = false;
  bool framing_checked = false;
  conn.framing_error.reset();
  for (;;) {
    if (buffer.size() > 0) {
      beast::error_code ec;
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec && ec != http::error::need_more) co_return Classify(ec);
      if (!framing_checked && parser.is_header_done()) {
        // Before any of the body is taken as such: a coding that does not
        // end in chunked leaves the body's end unknown.
        framing_checked = true;
        std::vector<std::string_view> codings;
        const auto [first, last] = parser.get().equal_range(http::field::transfer_encoding);
        for (auto field = first; field != last; ++field) codings.push_back(ToStd(field->value()));
        if (!codings.empty()) {
          conn.framing_error = CheckTransferEncoding(codings);
          if (conn.framing_error) co_return ReadResult::kBadFraming;
        }
      }
      if (parser.is_done()) co_return ReadResult::kComplete;
    }
    // A client that sent "Expect: 100-continue" waits for this before it
    // sends the body (curl waits a whole second otherwise). Oversized bodies
    // were refused above, when the header was parsed.
    if (!continue_sent && parser.is_header_done() && buffer.size() == 0) {
      continue_sent = true;
      const auto& message = parser.get();
      if (message.version() >= 11 && beast::iequals(message[http::field::expect], "100-continue")) {
        conn.stream.expires_at(deadline);
        auto [ec, n] = co_await asio::async_write(conn.stream, asio::buffer(kContinue), kNoThrow);
        (void)n;
        if (ec) co_return ReadResult::kClosed;
      }
    }
    conn.stream.expires_at(deadline);
    auto [ec, n] = co_await conn.stream.async_read_some(
        buffer.prepare(beast::read_size(buffer, kReadChunk)), kNoThrow);
    if (ec) co_return ReadResult::kClosed;  // EOF mid-request, read timeout, reset, Stop()
    buffer.commit(n);
  }
}

// Writes conn.response; calls on_response once it is written. Returns false
// when the connection broke.
asio::awaitable<bool> HttpServer::Impl::Respond(Connection& conn, bool keep_alive, bool http10,
                                                bool head_only, Clock::time_point start) {
  const bool with_body = SerializeHead(conn.response, conn.request.request_id, keep_alive, http10,
                                       head_only, &conn.head);
  std::array<asio::const_buffer, 2> buffers{
      asio::buffer(conn.head), with_body ? asio::buffer(conn.response.body) : asio::const_buffer()};
  // A client that does not take its response within the read timeout is
  // treated like one that does not send its request in time.
  conn.stream.expires_after(options.read_timeout);
  auto [ec, n] = co_await asio::async_write(conn.stream, buffers, kNoThrow);
  (void)n;
  if (ec) co_return false;
  if (options.on_response) {
    const int64_t latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    try {
      options.on_response(conn.request, conn.response, latency_us);
    } catch (...) {
      // The access log must not take the server down.
    }
  }
  co_return true;
}

asio::awaitable<void> HttpServer::Impl::Linger(internal::ServerStream& stream,
                                               beast::flat_buffer& buffer, Phase* phase) {
  *phase = Phase::kClosing;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::min<std::chrono::milliseconds>(options.read_timeout, kMaxLinger));
  buffer.clear();
  size_t drained = 0;
  while (drained < kMaxLingerBytes) {
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
    if (ec) break;  // EOF: the client has read the response and closed
    drained += n;
  }
  stream.socket().close(ignored);
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
  if (thread_count <= 0) thread_count = static_cast<int>(std::thread::hardware_concurrency());
  if (thread_count <= 0) thread_count = 1;
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
  if (options.tls.enabled()) {
    try {
      tls.store(LoadTlsContext(options.tls));
    } catch (...) {
      acceptor.reset();
      contexts.clear();
      throw;
    }
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

  accepting = true;
  asio::co_spawn(*contexts[0], Accept(), [](std::exception_ptr) {});
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
