// SHA-256 digests (OpenSSL), used by model manifests and backups.
#ifndef CHATBOT_COMMON_SHA256_H_
#define CHATBOT_COMMON_SHA256_H_

#include <filesystem>
#include <string>
#include <string_view>

namespace chatbot {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Lower-case hex SHA-256 of a file's contents. Throws IoError.
std::string Sha256FileHex(const std::filesystem::path& path);

// Incremental digest, for hashing many pieces (for example all training data).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string FinishHex();

 private:
  void* context_;  // EVP_MD_CTX*, kept opaque so OpenSSL stays out of headers.
};

}  // namespace chatbot

#endif  // CHATBOT_COMMON_SHA256_H_
