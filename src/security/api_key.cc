#include "security/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "common/error.h"

namespace chatbot::security {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kDomain("chatbot-api-key-v1\0", 19);

void RandomBytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    throw Error("the system's random source failed; no key was made");
  }
}

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

const EVP_MD* Sha256Md() {
  // Fetched once: implicit fetching by EVP_sha256() on every init costs a
  // lookup per hash.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct ContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::optional<KeyParts> ParseKey(std::string_view key) {
  if (key.size() != kKeyLength || !key.starts_with(kKeyPrefix) ||
      key[kKeyPrefix.size() + kKeyIdLength] != '_') {
    return std::nullopt;
  }
  KeyParts parts;
  parts.id_text = key.substr(kKeyPrefix.size(), kKeyIdLength);
  const std::optional<uint64_t> id = ParseKeyId(parts.id_text);
  if (!id) return std::nullopt;
  parts.id = *id;
  parts.secret = key.substr(kKeyPrefix.size() + kKeyIdLength + 1);
  for (char c : parts.secret) {
    if (!IsBase62(c)) return std::nullopt;
  }
  return parts;
}

std::string NewKeyId() {
  unsigned char bytes[8];
  RandomBytes(bytes, sizeof bytes);
  uint64_t id = 0;
  for (unsigned char b : bytes) id = (id << 8) | b;
  return KeyIdText(id);
}

std::string NewSecret() {
  std::string secret;
  secret.reserve(kSecretLength);
  unsigned char pool[64];
  while (secret.size() < kSecretLength) {
    RandomBytes(pool, sizeof pool);
    for (unsigned char b : pool) {
      // 248 = 4 * 62: values above are dropped, so every character is
      // equally likely.
      if (b >= 248) continue;
      secret.push_back(kBase62[b % 62]);
      if (secret.size() == kSecretLength) break;
    }
  }
  OPENSSL_cleanse(pool, sizeof pool);
  return secret;
}

std::string FormatKey(std::string_view id_text, std::string_view secret) {
  std::string key;
  key.reserve(kKeyLength);
  key.append(kKeyPrefix).append(id_text).push_back('_');
  key.append(secret);
  return key;
}

KeyHash HashSecret(std::string_view id_text, std::string_view secret) {
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> ctx(EVP_MD_CTX_new());
  KeyHash hash{};
  unsigned int length = 0;
  static constexpr char kZero = '\0';
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kDomain.data(), kDomain.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), id_text.data(), id_text.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), &kZero, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), hash.data(), &length) != 1 || length != hash.size()) {
    throw Error("SHA-256 failed (OpenSSL)");
  }
  return hash;
}

bool HashEquals(const KeyHash& a, const KeyHash& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string KeyIdText(uint64_t id) {
  std::string text(kKeyIdLength, '0');
  for (int i = static_cast<int>(kKeyIdLength) - 1; i >= 0; --i) {
    text[static_cast<size_t>(i)] = kHex[id & 15];
    id >>= 4;
  }
  return text;
}

std::optional<uint64_t> ParseKeyId(std::string_view text) {
  if (text.size() != kKeyIdLength) return std::nullopt;
  uint64_t id = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    id = (id << 4) | static_cast<uint64_t>(digit);
  }
  return id;
}

}  // namespace chatbot::security
