// HttpServer's connection coroutine (http_server_impl.h): the TLS
// handshake, then request after request on one connection: read under the
// idle and read timeouts, framed and checked, handled (on the worker pool
// when offloaded), answered in order, and the connection drained before it
// closes. The semantics of the timeouts are in http_server.cc's opening
// comment.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "server/http_server_impl.h"

namespace chatbot::server {

// ---------------------------------------------------------------------------
// Serving one connection.

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> conn) {
  internal::ServerStream& stream = conn->stream;
  beast::flat_buffer& buffer = conn->buffer;
  try {
    if (!co_await Handshake(*conn)) {
      beast::error_code ignored;
      stream.socket().close(ignored);
      co_return;
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

      ResetResponse(&conn->response);
      if (result != ReadResult::kComplete) {
        SetReadError(*conn, result);
        // The rest of the stream cannot be framed any more: close.
        if (co_await Respond(*conn, /*keep_alive=*/false, /*http10=*/false, /*head_only=*/false,
                             start)) {
          co_await Linger(stream, buffer, &conn->phase);
        }
        break;
      }

      TakeRequest(*conn);
      auto& message = parser.get();
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

asio::awaitable<bool> HttpServer::Impl::Handshake(Connection& conn) {
  if (!conn.stream.is_tls()) co_return true;
  // The handshake is bounded like the reading of a request.
  conn.phase = Phase::kRequest;
  conn.stream.expires_after(options.read_timeout);
  auto [ec] = co_await conn.stream.async_handshake(kNoThrow);
  co_return !ec;
}

// Whatever of an unreadable request was understood goes to the access
// log; the answer says why it could not be read.
void HttpServer::Impl::SetReadError(Connection& conn, ReadResult result) {
  HttpRequest& request = conn.request;
  HttpResponse& response = conn.response;
  auto& parser = *conn.parser;
  request.method.clear();
  request.target.clear();
  request.path.clear();
  request.query.clear();
  request.headers.clear();
  request.body.clear();
  request.client_address = conn.client_address;
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
    const FramingError error = conn.framing_error.value_or(FramingError{
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
}

// conn.request from the parsed message, reusing its strings' capacity.
void HttpServer::Impl::TakeRequest(Connection& conn) {
  HttpRequest& request = conn.request;
  auto& message = conn.parser->get();
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
  if (request.client_address.empty()) request.client_address = conn.client_address;
  std::string_view id = ToStd(message["X-Request-ID"]);
  if (ValidRequestId(id)) {
    request.request_id.assign(id);
  } else {
    GenerateRequestId(&request.request_id);
  }
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
  conn.request.received_bytes = 0;
  for (;;) {
    if (buffer.size() > 0) {
      beast::error_code ec;
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      conn.request.received_bytes += used;
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
  if (ec) co_return false;
  conn.response.sent_bytes = n;
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

}  // namespace chatbot::server
