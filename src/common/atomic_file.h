// Crash-safe file writes.
//
// State (models, manifests, keys, backups) is never written in place: the new
// contents go to a temporary file in the same directory, which is fsync'ed and
// renamed over the target, and the directory is fsync'ed so the rename itself
// is durable. A crash leaves either the old file or the new one, never a mix.
#ifndef CHATBOT_COMMON_ATOMIC_FILE_H_
#define CHATBOT_COMMON_ATOMIC_FILE_H_

#include <filesystem>
#include <string>
#include <string_view>

namespace chatbot {

// Replaces `path` with `contents` atomically. Throws IoError naming the path.
void WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file. Throws IoError naming the path when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

// fsyncs a directory so that renames inside it survive a crash.
void SyncDirectory(const std::filesystem::path& dir);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_ATOMIC_FILE_H_
