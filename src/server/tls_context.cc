#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <filesystem>

#include "common/error.h"

namespace chatbot::server {
namespace {

std::string OpenSslReason() {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!reason.empty()) reason += "; ";
    reason += text;
  }
  return reason.empty() ? "unknown OpenSSL error" : reason;
}

[[noreturn]] void Fail(const std::string& what) {
  throw ConfigError("tls: " + what + ": " + OpenSslReason());
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> LoadTlsContext(const TlsOptions& options) {
  namespace ssl = boost::asio::ssl;
  if (options.private_key.empty()) {
    throw ConfigError("tls: certificate is set but private_key is not");
  }
  for (const std::string& file : {options.certificate, options.private_key}) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error)) {
      throw ConfigError("tls: '" + file + "' does not exist or is not a file");
    }
  }
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  const int min_version = options.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) Fail("set the minimum version");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SSLv3);
  if (SSL_CTX_use_certificate_chain_file(ctx, options.certificate.c_str()) != 1) {
    Fail("cannot use the certificate '" + options.certificate + "'");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    Fail("cannot use the private key '" + options.private_key + "'");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    Fail("the private key '" + options.private_key + "' does not match the certificate '" +
         options.certificate + "'");
  }
  return context;
}

}  // namespace chatbot::server
