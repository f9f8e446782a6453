// HTTPS: the server's TLS context, from a PEM certificate chain and private
// key ([tls] certificate, private_key). TLS 1.2 or newer ([tls] min_version
// raises it to 1.3); no compression, no renegotiation, OpenSSL's default
// cipher suites for the version (forward-secret AEAD ciphers first).
// Reloaded on SIGHUP: new connections get the new certificate, open ones
// keep theirs.
#ifndef CHATBOT_SERVER_TLS_CONTEXT_H_
#define CHATBOT_SERVER_TLS_CONTEXT_H_

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace chatbot::server {

struct TlsOptions {
  std::string certificate;  // PEM chain; empty: plain HTTP
  std::string private_key;  // PEM
  std::string min_version = "1.2";
  bool enabled() const { return !certificate.empty(); }
};

// Throws ConfigError naming the file and OpenSSL's reason (missing file, not
// PEM, a key that does not match the certificate).
std::shared_ptr<boost::asio::ssl::context> LoadTlsContext(const TlsOptions& options);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_TLS_CONTEXT_H_
