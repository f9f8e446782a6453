#include "ops/http_probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

#include "common/error.h"

namespace chatbot::ops {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

struct HttpProbe::Impl {
  std::string host;
  std::string port;
  std::string prefix;  // path prefix of the URL, without a trailing '/'
  std::chrono::milliseconds timeout;
  std::vector<std::pair<std::string, std::string>> headers;
  net::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpProbe::HttpProbe(const std::string& url, std::chrono::milliseconds timeout)
    : url_(url), impl_(std::make_unique<Impl>()) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    throw ConfigError("--url " + url + ": expected http://HOST[:PORT] (plain HTTP)");
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    impl_->prefix = std::string(prefix);
  }
  impl_->port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw ConfigError("--url " + url + ": bad IPv6 address");
    impl_->host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) impl_->port = std::string(authority.substr(1));
  } else {
    const size_t colon = authority.rfind(':');
    impl_->host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) impl_->port = std::string(authority.substr(colon + 1));
  }
  int port = 0;
  const auto [end, error] =
      std::from_chars(impl_->port.data(), impl_->port.data() + impl_->port.size(), port);
  if (impl_->host.empty() || error != std::errc() ||
      end != impl_->port.data() + impl_->port.size() || port < 1 || port > 65535) {
    throw ConfigError("--url " + url + ": expected http://HOST[:PORT]");
  }
  impl_->timeout = timeout;
}

HttpProbe::~HttpProbe() = default;

void HttpProbe::AddHeader(std::string name, std::string value) {
  impl_->headers.emplace_back(std::move(name), std::move(value));
}

ProbeResponse HttpProbe::Get(std::string_view path) {
  return Send("GET", path, "");
}

ProbeResponse HttpProbe::PostJson(std::string_view path, std::string_view body) {
  return Send("POST", path, body);
}

ProbeResponse HttpProbe::Send(std::string_view method, std::string_view path,
                              std::string_view body) {
  Impl& s = *impl_;
  const std::string target = s.prefix + std::string(path);
  // One retry on a fresh connection: the service may have closed an idle one.
  for (int attempt = 0;; ++attempt) {
    try {
      if (!s.stream) {
        tcp::resolver resolver(s.io);
        s.stream.emplace(s.io);
        s.stream->expires_after(s.timeout);
        s.stream->connect(resolver.resolve(s.host, s.port));
      }
      http::request<http::string_body> request{http::string_to_verb(std::string(method)), target,
                                               11};
      request.set(http::field::host, s.host);
      request.set(http::field::user_agent, "chatbot-check-model");
      for (const auto& [name, value] : s.headers) request.set(name, value);
      if (method == "POST") {
        request.set(http::field::content_type, "application/json");
        request.body() = std::string(body);
      }
      request.prepare_payload();
      const auto start = std::chrono::steady_clock::now();
      s.stream->expires_after(s.timeout);
      http::write(*s.stream, request);
      http::response<http::string_body> response;
      http::read(*s.stream, s.buffer, response);
      ProbeResponse result;
      result.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      result.status = static_cast<int>(response.result_int());
      result.body = std::move(response.body());
      if (!response.keep_alive()) s.stream.reset();
      return result;
    } catch (const boost::system::system_error& e) {
      s.stream.reset();
      s.buffer.clear();
      if (attempt == 0 && e.code() != beast::error::timeout) continue;
      throw IoError(url_ + target + ": " + e.code().message());
    }
  }
}

}  // namespace chatbot::ops
