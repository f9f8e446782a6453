// The API key format and its hash.
//
//   cbk_<id>_<secret>      e.g. cbk_3f9a0c1d2e4b5a69_Xk3...  (64 characters)
//
// "cbk_" makes a leaked key recognisable (secret scanners, logs); <id> is 16
// lower-case hex digits (64 random bits), public, the key's name in the
// database, the CLI and the audit log; <secret> is 43 base62 characters
// drawn from OpenSSL's CSPRNG with rejection sampling, 256.03 bits.
//
// Only SHA-256("chatbot-api-key-v1" 0x00 id 0x00 secret) is stored. Why a
// plain SHA-256 and not a slow password hash or an HMAC with a pepper: the
// secret is 256 uniformly random bits, so a stolen hash cannot be reversed
// by guessing (2^255 tries on average) however fast the hash is; slow hashes
// (bcrypt, Argon2) protect low-entropy passwords and would cost milliseconds
// on every request; a pepper would only help low-entropy secrets too, while
// being one more secret that backups and restores must carry. The id and a
// domain prefix are hashed with the secret so that a hash copied onto
// another key's row does not verify.
//
// Verification compares the 32-byte digests with CRYPTO_memcmp (constant
// time). Hashing costs about 0.1 µs with SHA-NI (a reused EVP context per
// thread).
#ifndef CHATBOT_SECURITY_API_KEY_H_
#define CHATBOT_SECURITY_API_KEY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot::security {

using KeyHash = std::array<uint8_t, 32>;

inline constexpr std::string_view kKeyPrefix = "cbk_";
inline constexpr size_t kKeyIdLength = 16;
inline constexpr size_t kSecretLength = 43;
inline constexpr size_t kKeyLength = 4 + kKeyIdLength + 1 + kSecretLength;

// A key split into its parts (views into the presented text).
struct KeyParts {
  uint64_t id = 0;
  std::string_view id_text;
  std::string_view secret;
};

// Splits a presented key; nullopt when it does not have the format (no
// allocation, no secret copied).
std::optional<KeyParts> ParseKey(std::string_view key);

// A new random id (16 hex digits) and secret; throws Error when the random
// source fails.
std::string NewKeyId();
std::string NewSecret();
// "cbk_" + id + "_" + secret.
std::string FormatKey(std::string_view id_text, std::string_view secret);

KeyHash HashSecret(std::string_view id_text, std::string_view secret);
// Constant-time equality.
bool HashEquals(const KeyHash& a, const KeyHash& b);

// The id as text, and back; ParseKeyId accepts exactly 16 lower-case hex digits.
std::string KeyIdText(uint64_t id);
std::optional<uint64_t> ParseKeyId(std::string_view text);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_API_KEY_H_
