// Folders of files from one fuzz input, for the parsers that read a folder
// (model manifests, backups): the first part is manifest.json, every other
// part is "RELATIVE/PATH" on its first line and the file's bytes after it.
#ifndef CHATBOT_FUZZ_FILES_SUPPORT_H_
#define CHATBOT_FUZZ_FILES_SUPPORT_H_

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
// Made of plain system calls, one per file or folder written or removed:
// std::filesystem's exists, create_directories and remove_all stat every
// ancestor of every path, and those lookups were half the folder targets'
// time. The folder is emptied by removing what the previous input wrote
// there (remembered per folder), deepest first, then the folder itself;
// anything else found there (the folder is not empty) falls back to
// remove_all, so every input still starts from an empty folder. A part
// whose path runs through a file, or names a folder made for an earlier
// part, is not written (open or mkdir refuses it).
inline std::vector<std::string> WriteFolder(const std::filesystem::path& dir,
                                            std::string_view input) {
  // What the last input made here: 'd' (folder) or 'f' (file), the path and
  // a NUL, one after another in one buffer. Its capacity stays from input to
  // input, so an input allocates nothing that outlives it: libFuzzer runs an
  // input again to look for a leak whenever its mallocs and frees differ.
  struct Created {
    std::string entries;
    std::vector<size_t> starts;
    void Add(char kind, std::string_view path) {
      starts.push_back(entries.size());
      entries += kind;
      entries += path;
      entries += '\0';
    }
  };
  static std::map<std::string, Created> created;
  const std::string root = dir.string();
  Created& previous = created[root];
  for (auto it = previous.starts.rbegin(); it != previous.starts.rend(); ++it) {
    const char* entry = previous.entries.c_str() + *it;
    entry[0] == 'd' ? ::rmdir(entry + 1) : ::unlink(entry + 1);
  }
  previous.entries.clear();
  previous.starts.clear();
  if (::rmdir(root.c_str()) != 0 && errno != ENOENT) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  if (::mkdir(root.c_str(), 0700) != 0) std::filesystem::create_directories(dir);
  const std::vector<std::string_view> parts = SplitParts(input, 16);
  WriteFile(dir / "manifest.json", parts[0]);
  previous.Add('f', root + "/manifest.json");
  std::vector<std::string> written;
  std::vector<std::string> folders;  // made for this input
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t newline = parts[i].find('\n');
    const std::string_view name = parts[i].substr(0, newline);
    if (!SafeRelativePath(name) || name == "manifest.json") continue;
    std::string path = root + "/" + std::string(name);
    // Each folder on the way: made for an earlier part, made here (and
    // remembered), or refused.
    bool reachable = true;
    for (size_t slash = path.find('/', root.size() + 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string_view folder(path.data(), slash);
      if (std::find(folders.begin(), folders.end(), folder) != folders.end()) continue;
      path[slash] = '\0';
      if (::mkdir(path.c_str(), 0700) == 0) {
        previous.Add('d', path.c_str());
        folders.emplace_back(path.c_str());
      } else {
        reachable = false;  // a file of that name is on the way
      }
      path[slash] = '/';
      if (!reachable) break;
    }
    if (!reachable) continue;
    // Refused for a folder of that name; a file of that name is replaced.
    if (!TryWriteFile(path.c_str(), newline == std::string_view::npos
                                        ? std::string_view()
                                        : parts[i].substr(newline + 1))) {
      continue;
    }
    previous.Add('f', path);
    written.emplace_back(name);
  }
  return written;
}

}  // namespace chatbot::fuzz

#endif  // CHATBOT_FUZZ_FILES_SUPPORT_H_
