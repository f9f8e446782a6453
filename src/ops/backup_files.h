// The file work backup.cc and restore.cc share, private to src/ops:
// copying files and folders while hashing them, temporary names next to a
// target, reading the backup manifest's fields, and quoting the names of the
// tables whose rows the database items count.
#ifndef CHATBOT_OPS_BACKUP_FILES_H_
#define CHATBOT_OPS_BACKUP_FILES_H_

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace chatbot::ops {

// Where a backup or restore writes before it publishes with a rename.
inline constexpr const char* kPartialPrefix = ".partial-";

struct FileDigest {
  std::string sha256;
  uint64_t bytes = 0;
};

// strerror(errno).
std::string Errno();

// Copies `from` to the new file `to` (same permission bits), hashing what is
// written, and fsyncs it.
FileDigest CopyFileHashed(const std::filesystem::path& from, const std::filesystem::path& to);

// Copies a folder recursively; `digests` gets every file's digest by its
// path relative to `from` (with '/').
void CopyTreeHashed(const std::filesystem::path& from, const std::filesystem::path& to,
                    std::map<std::string, FileDigest>* digests);

// The string at `key`, or "" when absent or not a string.
std::string StringField(const boost::json::object& object, std::string_view key);

// An SQL identifier in double quotes (SQLite and PostgreSQL alike).
std::string QuoteIdentifier(const std::string& name);

// "<pid>-<8 random hex digits>", for temporary names.
std::string RandomSuffix();

// Removes a file or folder, ignoring errors.
void RemoveQuietly(const std::filesystem::path& path);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_BACKUP_FILES_H_
