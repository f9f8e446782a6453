// Free space on a file system, for errors that must say how much space an
// operation needs when the disk is full (backups, model files).
#ifndef CHATBOT_COMMON_DISK_SPACE_H_
#define CHATBOT_COMMON_DISK_SPACE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace chatbot {

// Bytes an unprivileged writer may still use on the file system holding
// `path` (the nearest existing ancestor when `path` does not exist); none
// when it cannot be determined.
std::optional<uint64_t> AvailableBytes(const std::filesystem::path& path);

// "no space left on the file system of PATH: N bytes needed, M available",
// for an IoError.
std::string NoSpaceMessage(const std::filesystem::path& path, uint64_t needed);

}  // namespace chatbot

#endif  // CHATBOT_COMMON_DISK_SPACE_H_
