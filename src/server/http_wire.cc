#include "server/http_wire.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <chrono>
#include <ctime>
#include <random>

namespace chatbot::server::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

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

}  // namespace

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
  if (address.is_v6()) out += '[';
  out += address.to_string();
  out += address.is_v6() ? "]:" : ":";
  AppendNumber(&out, endpoint.port());
  return out;
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

ReadResult Classify(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return ReadResult::kHeaderTooLarge;
  if (ec == http::error::body_limit) return ReadResult::kBodyTooLarge;
  if (ec == http::error::bad_transfer_encoding) return ReadResult::kBadFraming;
  return ReadResult::kBadRequest;
}

}  // namespace chatbot::server::internal
