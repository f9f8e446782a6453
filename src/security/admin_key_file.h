// The first admin key: when `chatbot serve` starts and the keys database
// has no usable admin key (none yet, or all revoked or expired), it makes
// one named "initial-admin" and writes it, alone on one line, to
// `[security] admin_key_file` (mode 0600, its directory 0700, written
// atomically). The key is never printed or logged; the caller says once
// where it is.
#ifndef CHATBOT_SECURITY_ADMIN_KEY_FILE_H_
#define CHATBOT_SECURITY_ADMIN_KEY_FILE_H_

#include <filesystem>
#include <optional>
#include <string>

#include "security/key_manager.h"

namespace chatbot::security {

struct BootstrappedKey {
  std::string id;
  std::filesystem::path file;
};

// Creates the key and its file when no admin key is usable; nullopt when
// one is. Throws IoError when the file cannot be written (the key is then
// revoked again, so no unknown admin key is left behind), StoreError.
std::optional<BootstrappedKey> EnsureAdminKey(KeyManager* keys, const std::filesystem::path& file);

// Writes `contents` to `path` atomically with mode 0600 (temporary file,
// fsync, rename, fsync of the directory). Throws IoError.
void WritePrivateFile(const std::filesystem::path& path, const std::string& contents);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_ADMIN_KEY_FILE_H_
