// Files and directories that hold customer data (sessions, keys, logs) are
// created readable by the service's user only, whatever the process's umask:
// directories 0700, files 0600, or the group-readable modes a configured log
// group asks for (docs/security.md, "Files").
#ifndef CHATBOT_COMMON_PRIVATE_FILES_H_
#define CHATBOT_COMMON_PRIVATE_FILES_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace chatbot {

inline constexpr mode_t kPrivateDirMode = 0700;
inline constexpr mode_t kPrivateFileMode = 0600;

// Creates `dir` and every missing parent with exactly `mode`; directories
// that exist are left as they are (an operator may have chosen theirs).
// Throws IoError naming the directory.
void CreatePrivateDirectories(const std::filesystem::path& dir, mode_t mode = kPrivateDirMode);

// Creates `path` empty with exactly `mode` when it does not exist (an empty
// file is a valid empty SQLite database, and SQLite gives its -wal and -shm
// files the database's mode). Throws IoError naming the file.
void CreatePrivateFile(const std::filesystem::path& path, mode_t mode = kPrivateFileMode);

// The group id of `name`; nullopt when there is no such group.
std::optional<gid_t> LookUpGroup(const std::string& name);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_PRIVATE_FILES_H_
