// The bytes of HTTP/1.1 as the server reads and writes them, private to the
// server (http_server.cc, http_connection.cc): response heads, the Date
// header, request ids, client addresses, error bodies, and why a request
// could not be read. The small helpers the request path calls for every
// header are inline.
#ifndef CHATBOT_SERVER_HTTP_WIRE_H_
#define CHATBOT_SERVER_HTTP_WIRE_H_

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace chatbot::server::internal {

// Response bodies above this are not kept for reuse by the next request.
constexpr size_t kMaxRetainedBody = 1 << 16;

inline std::string_view ToStd(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

inline void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, end);
}

inline void ToLowerAscii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// 1..128 printable ASCII characters: anything else (empty, too long, control
// or non-ASCII bytes) could break the log line or the response header it is
// copied into, so such an ID is replaced by a generated one.
inline bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// 16 hex digits from a per-thread xorshift64* generator: unique enough to
// correlate log lines, and far cheaper than a UUID from random_device.
void GenerateRequestId(std::string* out);

// The Date header value, formatted at most once per second per thread.
std::string_view HttpDate();

// The address as 16 bytes, IPv4 mapped into IPv6 (HttpRequest::peer_ip).
std::array<uint8_t, 16> PeerBytes(const boost::asio::ip::tcp::endpoint& endpoint);
// "a.b.c.d:port" or "[v6]:port", IPv4-mapped addresses shown as IPv4.
std::string FormatAddress(const boost::asio::ip::tcp::endpoint& endpoint);

// A JSON error body: {"error":{"code":..,"message":..}}.
void SetError(HttpResponse* response, int status, std::string_view code, std::string_view message);
// A response made ready for the next request, keeping small buffers.
void ResetResponse(HttpResponse* response);

// Writes the status line and headers of `response` into *out.
// `head_only`: the request was HEAD, so the body is announced but not sent.
// Returns whether the body is to be sent.
bool SerializeHead(const HttpResponse& response, std::string_view request_id, bool keep_alive,
                   bool http10, bool head_only, std::string* out);

// Why a request could not be read.
enum class ReadResult {
  kComplete,        // a whole request is parsed
  kClosed,          // EOF, timeout, reset, cancellation: close without answer
  kBadRequest,      // 400
  kHeaderTooLarge,  // 431
  kBodyTooLarge,    // 413
  kBadFraming,      // Connection::framing_error says why
};

// The ReadResult of a parser error.
ReadResult Classify(const boost::beast::error_code& ec);

}  // namespace chatbot::server::internal

#endif  // CHATBOT_SERVER_HTTP_WIRE_H_
