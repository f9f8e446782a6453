// Folders of files from one fuzz input, for the parsers that read a folder
// (model manifests, backups): the first part is manifest.json, every other
// part is "RELATIVE/PATH" on its first line and the file's bytes after it.
#ifndef CHATBOT_FUZZ_FILES_SUPPORT_H_
#define CHATBOT_FUZZ_FILES_SUPPORT_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz_support.h"

namespace chatbot::fuzz {

// A relative path of plain names ([A-Za-z0-9._-], no "." or ".."), so that
// an input never writes outside its folder.
inline bool SafeRelativePath(std::string_view path) {
  if (path.empty() || path.size() > 200) return false;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const std::string_view name = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (name.empty() || name == "." || name == "..") return false;
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-')) {
        return false;
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

// Empties `dir` and writes the input's files into it; returns the relative
// paths written after manifest.json.
//
// The folder is emptied by removing what the previous input wrote there
// (remembered per folder), deepest first, then the folder itself: the
// opendir of a recursive remove_all, whose buffer ASan allocates and fills,
// was a fifth of the backup target's time. Anything else found there (the
// folder is not empty) falls back to remove_all, so every input still
// starts from an empty folder.
inline std::vector<std::string> WriteFolder(const std::filesystem::path& dir,
                                            std::string_view input) {
  static std::map<std::filesystem::path, std::vector<std::filesystem::path>> created;
  std::vector<std::filesystem::path>& previous = created[dir];
  std::error_code ignored;
  for (auto it = previous.rbegin(); it != previous.rend(); ++it) {
    std::filesystem::remove(*it, ignored);
  }
  previous.clear();
  if (!std::filesystem::remove(dir, ignored) && std::filesystem::exists(dir)) {
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::create_directories(dir);
  previous.push_back(dir / "manifest.json");
  const std::vector<std::string_view> parts = SplitParts(input, 16);
  WriteFile(dir / "manifest.json", parts[0]);
  std::vector<std::string> written;
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t newline = parts[i].find('\n');
    const std::string_view name = parts[i].substr(0, newline);
    if (!SafeRelativePath(name) || name == "manifest.json") continue;
    const std::filesystem::path path = dir / std::string(name);
    // Record each folder this creates so that the next input removes it.
    std::vector<std::filesystem::path> missing;
    for (std::filesystem::path parent = path.parent_path();
         parent != dir && !std::filesystem::exists(parent, ignored);
         parent = parent.parent_path()) {
      missing.push_back(parent);
    }
    std::filesystem::create_directories(path.parent_path(), ignored);
    previous.insert(previous.end(), missing.rbegin(), missing.rend());
    if (ignored || std::filesystem::is_directory(path)) continue;
    WriteFile(path, newline == std::string_view::npos ? std::string_view()
                                                      : parts[i].substr(newline + 1));
    previous.push_back(path);
    written.emplace_back(name);
  }
  return written;
}

}  // namespace chatbot::fuzz

#endif  // CHATBOT_FUZZ_FILES_SUPPORT_H_
