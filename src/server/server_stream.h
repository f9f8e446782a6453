// A connection's byte stream for the HTTP server: plain TCP, or TLS over
// it, chosen per connection at accept time (server/tls_context.h).
//
// It is an Asio AsyncReadStream/AsyncWriteStream whose operations go to the
// TLS layer when there is one and to the TCP stream otherwise, so the
// server's coroutines read and write it the same way either way; the
// timeouts, cancellation and socket calls always act on the TCP stream
// (beast::tcp_stream's expiry bounds the TLS handshake and records too).
// Not movable: the TLS layer refers to the TCP stream it wraps.
#ifndef CHATBOT_SERVER_SERVER_STREAM_H_
#define CHATBOT_SERVER_SERVER_STREAM_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace chatbot::server::internal {

class ServerStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  // `tls`: null for plain HTTP. The context is kept alive by the stream, so
  // a certificate reload does not disturb open connections.
  ServerStream(boost::asio::ip::tcp::socket socket,
               std::shared_ptr<boost::asio::ssl::context> tls = nullptr)
      : tcp_(std::move(socket)), tls_context_(std::move(tls)) {
    if (tls_context_) tls_.emplace(tcp_, *tls_context_);
  }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  executor_type get_executor() { return tcp_.get_executor(); }
  bool is_tls() const { return tls_.has_value(); }

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

  // The server side of the TLS handshake; call only when is_tls().
  template <typename Token>
  auto async_handshake(Token&& token) {
    return tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Token>(token));
  }

  // The TCP layer's controls.
  template <typename Duration>
  void expires_after(Duration d) {
    tcp_.expires_after(d);
  }
  template <typename TimePoint>
  void expires_at(TimePoint t) {
    tcp_.expires_at(t);
  }
  boost::asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  void cancel() { tcp_.cancel(); }
  void close() { tcp_.close(); }

 private:
  boost::beast::tcp_stream tcp_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;
};

}  // namespace chatbot::server::internal

#endif  // CHATBOT_SERVER_SERVER_STREAM_H_
