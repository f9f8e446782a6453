#include "http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace chatbot::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

HttpResult FromBeast(const http::response<http::string_body>& response) {
  HttpResult result;
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name = Lower(field.name_string());
    auto [it, inserted] = result.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  result.body = response.body();
  return result;
}

// Every error answer any test receives is checked for internals: a library's
// or our own source files, and file system paths (only the operator-only
// model endpoints may name the model's files; docs/security.md).
void ExpectNoInternals(std::string_view target, const HttpResult& result) {
  if (result.status < 400) return;
  static const std::regex kSource(R"(\.(hpp|ipp|cc|cpp|cxx|h)\b|boost/|in function ')");
  static const std::regex kPath(
      R"((^|[\s"'=(:])/(tmp|home|work|usr|var|etc|opt|root|srv|proc|run|mnt)/)");
  EXPECT_FALSE(std::regex_search(result.body, kSource))
      << "an error answer names source code: " << target << "\n"
      << result.Describe();
  if (target.starts_with("/v1/model")) return;
  EXPECT_FALSE(std::regex_search(result.body, kPath))
      << "an error answer names a file: " << target << "\n"
      << result.Describe();
}

}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

boost::json::value HttpResult::Json() const {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(body, error);
  if (error) {
    throw std::runtime_error("the response body is not JSON (" + error.message() +
                             "): " + Describe());
  }
  return value;
}

std::string HttpResult::Describe() const {
  std::ostringstream out;
  out << "HTTP " << status << "\n";
  for (const auto& [name, value] : headers) out << name << ": " << value << "\n";
  out << "\n" << body.substr(0, 4000);
  return out.str();
}

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  std::string source;  // local address to connect from; empty: the system's choice
  std::chrono::milliseconds timeout;
  net::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the asynchronous operation `start` (which takes a completion
  // handler) to its end; the stream's expiry bounds it.
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code error, auto&&...) { result = error; });
    io.restart();
    io.run();
    return result;
  }

  tcp::endpoint Endpoint() const { return {net::ip::make_address(host), port}; }

  beast::error_code Connect(beast::tcp_stream& s) {
    if (!source.empty()) {
      beast::error_code error;
      const net::ip::address address = net::ip::make_address(source, error);
      if (!error) s.socket().open(address.is_v4() ? tcp::v4() : tcp::v6(), error);
      if (!error) s.socket().bind(tcp::endpoint(address, 0), error);
      if (error) return error;
    }
    s.expires_after(timeout);
    return Run([&](auto handler) { s.async_connect(Endpoint(), std::move(handler)); });
  }

  void Close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
      stream.reset();
    }
    buffer.clear();
  }
};

HttpClient::HttpClient(uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() {
  impl_->Close();
}

void HttpClient::Close() {
  impl_->Close();
}

void HttpClient::SetSourceAddress(std::string address) {
  impl_->Close();
  impl_->source = std::move(address);
}

bool HttpClient::connected() const {
  return impl_->stream.has_value() && impl_->stream->socket().is_open();
}

HttpResult HttpClient::Send(std::string_view method, std::string_view target, std::string_view body,
                            const HttpHeaders& headers) {
  Impl& d = *impl_;
  if (!connected()) {
    d.Close();
    d.stream.emplace(d.io);
    ++connections_opened_;
    if (const beast::error_code error = d.Connect(*d.stream)) {
      d.Close();
      throw std::runtime_error("connect to " + d.host + ":" + std::to_string(d.port) + ": " +
                               error.message());
    }
  }

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, d.host + ":" + std::to_string(d.port));
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (Lower(name) == "content-type") has_content_type = true;
    request.insert(name, value);
  }
  if (!body.empty() && !has_content_type) {
    request.set(http::field::content_type, "application/json");
  }
  request.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") request.prepare_payload();

  const std::string what = std::string(method) + " " + std::string(target);
  d.stream->expires_after(d.timeout);
  const beast::error_code write_error =
      d.Run([&](auto handler) { http::async_write(*d.stream, request, std::move(handler)); });
  if (write_error == beast::error::timeout || !d.stream->socket().is_open()) {
    d.Close();
    throw std::runtime_error(what + ": write: " + write_error.message());
  }
  // After a failed write (the server answered early, a 413 say, and closed
  // the connection) the response may still be there to read, as curl does.

  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  d.stream->expires_after(d.timeout);
  if (const beast::error_code error = d.Run([&](auto handler) {
        http::async_read(*d.stream, d.buffer, parser, std::move(handler));
      })) {
    d.Close();
    throw std::runtime_error(what + ": read: " + error.message() +
                             (write_error ? " (after write: " + write_error.message() + ")" : ""));
  }
  const http::response<http::string_body>& response = parser.get();
  HttpResult result = FromBeast(response);
  ExpectNoInternals(target, result);
  if (!response.keep_alive() || write_error) d.Close();
  return result;
}

RawResult HttpClient::SendRaw(std::string_view bytes, std::chrono::milliseconds timeout) {
  RawConnection connection(impl_->port, impl_->host);
  if (!connection.Write(bytes)) throw std::runtime_error("raw write failed");
  return connection.Read(timeout);
}

// A plain socket and a timer rather than a tcp_stream: a read that times
// out must leave the connection open.
struct RawConnection::Impl {
  net::io_context io;
  tcp::socket socket{io};
  net::steady_timer timer{io};
};

RawConnection::RawConnection(uint16_t port, std::string host) : impl_(std::make_unique<Impl>()) {
  beast::error_code error;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address(host), port), error);
  if (error) {
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " +
                             error.message());
  }
}

RawConnection::~RawConnection() {
  beast::error_code ignored;
  impl_->socket.close(ignored);
}

bool RawConnection::Write(std::string_view bytes) {
  Impl& d = *impl_;
  if (!d.socket.is_open()) return false;
  beast::error_code error;
  net::write(d.socket, net::buffer(bytes.data(), bytes.size()), error);
  return !error;
}

RawResult RawConnection::Read(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  RawResult result;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  char chunk[16384];
  while (true) {
    if (!d.socket.is_open()) {
      result.closed = true;
      break;
    }
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    bool expired = false;
    size_t received = 0;
    beast::error_code error = net::error::would_block;
    d.timer.expires_at(deadline);
    d.timer.async_wait([&](beast::error_code e) {
      if (e) return;  // cancelled: the read completed first
      expired = true;
      beast::error_code ignored;
      d.socket.cancel(ignored);
    });
    d.socket.async_read_some(net::buffer(chunk), [&](beast::error_code e, size_t n) {
      error = e;
      received = n;
      d.timer.cancel();
    });
    d.io.restart();
    d.io.run();
    result.data.append(chunk, received);
    if (error == net::error::operation_aborted && expired) {
      result.timed_out = true;
      break;
    }
    if (error) {  // end of stream, reset, ...
      result.closed = true;
      beast::error_code ignored;
      d.socket.close(ignored);
      break;
    }
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return result;
}

std::vector<HttpResult> ParseResponses(std::string_view raw, std::string* rest) {
  std::vector<HttpResult> responses;
  size_t offset = 0;
  while (offset < raw.size()) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    size_t consumed = offset;
    bool complete = false;
    while (true) {
      beast::error_code error;
      const size_t used =
          parser.put(net::buffer(raw.data() + consumed, raw.size() - consumed), error);
      consumed += used;
      if (parser.is_done()) {
        complete = true;
        break;
      }
      if (error == http::error::need_more && used > 0) continue;
      break;  // incomplete or malformed
    }
    if (!complete) break;
    responses.push_back(FromBeast(parser.get()));
    ExpectNoInternals("", responses.back());
    offset = consumed;
  }
  if (rest != nullptr) *rest = std::string(raw.substr(offset));
  return responses;
}

}  // namespace chatbot::testing
