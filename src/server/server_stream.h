// A connection's byte stream for the HTTP server: a plain socket (TCP, or
// the Unix-domain socket of server.unix_socket), or TLS over it, chosen per
// connection at accept time (server/tls_context.h).
//
// It is an Asio AsyncReadStream/AsyncWriteStream whose operations go to the
// TLS layer when there is one and to the socket's stream otherwise, so the
// server's coroutines read and write it the same way either way; the
// timeouts, cancellation and socket calls always act on the socket's stream
// (beast::basic_stream's expiry bounds the TLS handshake and records too).
// The socket is of Asio's generic stream protocol, so one stream type serves
// both kinds of listener. Not movable: the TLS layer refers to the stream it
// wraps.
#ifndef CHATBOT_SERVER_SERVER_STREAM_H_
#define CHATBOT_SERVER_SERVER_STREAM_H_

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace chatbot::server::internal {

class ServerStream {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using Stream = boost::beast::basic_stream<boost::asio::generic::stream_protocol>;
  using executor_type = Stream::executor_type;

  // `tls`: null for plain HTTP. The context is kept alive by the stream, so
  // a certificate reload does not disturb open connections.
  ServerStream(Socket socket, std::shared_ptr<boost::asio::ssl::context> tls = nullptr)
      : socket_stream_(std::move(socket)), tls_context_(std::move(tls)) {
    if (tls_context_) tls_.emplace(socket_stream_, *tls_context_);
  }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  executor_type get_executor() { return socket_stream_.get_executor(); }
  bool is_tls() const { return tls_.has_value(); }

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return socket_stream_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return socket_stream_.async_write_some(buffers, std::forward<Token>(token));
  }

  // The server side of the TLS handshake; call only when is_tls().
  template <typename Token>
  auto async_handshake(Token&& token) {
    return tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Token>(token));
  }

  // The socket layer's controls.
  template <typename Duration>
  void expires_after(Duration d) {
    socket_stream_.expires_after(d);
  }
  template <typename TimePoint>
  void expires_at(TimePoint t) {
    socket_stream_.expires_at(t);
  }
  Socket& socket() { return socket_stream_.socket(); }
  void cancel() { socket_stream_.cancel(); }
  void close() { socket_stream_.close(); }

 private:
  Stream socket_stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::optional<boost::asio::ssl::stream<Stream&>> tls_;
};

}  // namespace chatbot::server::internal

#endif  // CHATBOT_SERVER_SERVER_STREAM_H_
