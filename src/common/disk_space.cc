#include "common/disk_space.h"

#include <sys/statvfs.h>

namespace chatbot {

std::optional<uint64_t> AvailableBytes(const std::filesystem::path& path) {
  std::filesystem::path probe = path.empty() ? std::filesystem::path(".") : path;
  std::error_code error;
  while (!std::filesystem::exists(probe, error) && probe.has_parent_path() &&
         probe.parent_path() != probe) {
    probe = probe.parent_path();
  }
  struct statvfs st {};
  if (::statvfs(probe.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string NoSpaceMessage(const std::filesystem::path& path, uint64_t needed) {
  const std::optional<uint64_t> available = AvailableBytes(path);
  return "no space left on the file system of " + path.string() + ": " + std::to_string(needed) +
         " bytes needed, " + (available ? std::to_string(*available) : std::string("unknown")) +
         " available";
}

}  // namespace chatbot
