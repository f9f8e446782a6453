#include "ops/backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"
#include "ops/sqlite_backup.h"

namespace chatbot::ops {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kPartialPrefix = ".partial-";
// Attempts at copying a model folder that training replaces meanwhile.
constexpr int kModelCopyAttempts = 3;

struct FileDigest {
  std::string sha256;
  uint64_t bytes = 0;
};

const char* KindName(BackupItemKind kind) {
  switch (kind) {
    case BackupItemKind::kSqlite:
      return "sqlite";
    case BackupItemKind::kDirectory:
      return "directory";
    case BackupItemKind::kFile:
      return "file";
  }
  return "file";
}

std::string Errno() {
  return std::strerror(errno);
}

// Copies `from` to the new file `to` (same permission bits), hashing what is
// written, and fsyncs it.
FileDigest CopyFileHashed(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw IoError("cannot read " + from.string() + ": " + Errno());
  struct stat st {};
  ::fstat(in, &st);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
  if (out < 0) {
    const std::string reason = Errno();
    ::close(in);
    throw IoError("cannot create " + to.string() + ": " + reason);
  }
  Sha256 hash;
  FileDigest digest;
  std::vector<char> buffer(1 << 20);
  try {
    while (true) {
      const ssize_t n = ::read(in, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw IoError("cannot read " + from.string() + ": " + Errno());
      }
      if (n == 0) break;
      hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
      digest.bytes += static_cast<uint64_t>(n);
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          throw IoError("cannot write " + to.string() + ": " + Errno());
        }
        done += w;
      }
    }
    if (::fsync(out) != 0) throw IoError("cannot fsync " + to.string() + ": " + Errno());
  } catch (...) {
    ::close(in);
    ::close(out);
    throw;
  }
  ::close(in);
  if (::close(out) != 0) throw IoError("cannot write " + to.string() + ": " + Errno());
  digest.sha256 = hash.FinishHex();
  return digest;
}

// Copies a folder recursively; `digests` gets every file's digest by its
// path relative to `from` (with '/').
void CopyTreeHashed(const fs::path& from, const fs::path& to,
                    std::map<std::string, FileDigest>* digests) {
  std::error_code error;
  fs::create_directories(to, error);
  if (error) throw IoError("cannot create " + to.string() + ": " + error.message());
  std::vector<fs::path> directories = {to};
  for (auto it = fs::recursive_directory_iterator(from, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path relative = it->path().lexically_relative(from);
    if (it->is_directory()) {
      fs::create_directories(to / relative, error);
      if (error)
        throw IoError("cannot create " + (to / relative).string() + ": " + error.message());
      directories.push_back(to / relative);
    } else if (it->is_regular_file()) {
      (*digests)[relative.generic_string()] = CopyFileHashed(it->path(), to / relative);
    }
  }
  if (error) throw IoError("cannot read " + from.string() + ": " + error.message());
  for (const fs::path& dir : directories) SyncDirectory(dir);
}

// For a copied model folder: the files its own manifest lists, with their
// checksums, compared with the copy. "" when consistent (or no manifest).
std::string CheckAgainstModelManifest(const std::map<std::string, FileDigest>& copied,
                                      const json::object& manifest) {
  const json::value* files = manifest.if_contains("files");
  if (files == nullptr || !files->is_object()) return "its manifest lists no files";
  for (const auto& [name, entry] : files->as_object()) {
    const auto it = copied.find(std::string(name));
    if (it == copied.end()) return "missing " + std::string(name);
    const json::object* e = entry.if_object();
    const json::value* sha = e ? e->if_contains("sha256") : nullptr;
    if (sha == nullptr || !sha->is_string() || sha->as_string() != it->second.sha256) {
      return std::string(name) + " does not match its manifest";
    }
  }
  return "";
}

std::optional<json::object> ParseObject(const std::string& text) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<uint64_t> UnsignedValue(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

// "20261129T002747Z" for the current time.
std::string BackupNameNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// "2026-11-29T00:27:47Z" -> Unix seconds; nullopt when malformed.
std::optional<int64_t> ParseUtc(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// A relative path that stays inside its folder.
bool IsSafeRelative(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

std::string RandomSuffix() {
  std::random_device random;
  return fmt::format("{}-{:08x}", ::getpid(), random());
}

void RemoveQuietly(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
}

std::optional<json::object> ReadManifest(const fs::path& dir, std::string* problem) {
  const fs::path path = dir / kBackupManifest;
  std::error_code error;
  if (!fs::exists(path, error)) {
    *problem = "no " + std::string(kBackupManifest) + " (incomplete or not a backup)";
    return std::nullopt;
  }
  std::optional<json::object> manifest;
  try {
    manifest = ParseObject(ReadFile(path));
  } catch (const Error& e) {
    *problem = e.what();
    return std::nullopt;
  }
  if (!manifest) {
    *problem = path.string() + ": not a JSON object";
    return std::nullopt;
  }
  if (StringField(*manifest, "format") != kBackupFormat) {
    *problem = path.string() + ": not a chatbot backup manifest";
    return std::nullopt;
  }
  const json::value* version = manifest->if_contains("format_version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != kBackupFormatVersion) {
    *problem = path.string() + ": unsupported backup format version";
    return std::nullopt;
  }
  return manifest;
}

}  // namespace

BackupResult CreateBackup(const BackupOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code error;
  fs::create_directories(options.root, error);
  if (error) throw IoError("cannot create " + options.root.string() + ": " + error.message());

  std::string name = options.name.empty() ? BackupNameNow() : options.name;
  if (fs::exists(options.root / name, error)) {
    const std::string base = name;
    for (int i = 2; fs::exists(options.root / name, error); ++i)
      name = fmt::format("{}-{}", base, i);
  }
  const fs::path partial = options.root / (kPartialPrefix + name);
  RemoveQuietly(partial);
  fs::create_directories(partial, error);
  if (error) throw IoError("cannot create " + partial.string() + ": " + error.message());
  // Backups hold the API keys and every conversation: owner only.
  ::chmod(partial.c_str(), 0700);

  BackupResult result;
  result.name = name;
  json::array items;
  json::object files;
  try {
    for (const BackupItem& item : options.items) {
      if (!IsSafeRelative(item.stored)) {
        throw IoError("backup item " + item.role + ": bad stored path '" + item.stored + "'");
      }
      json::object entry{
          {"role", item.role},
          {"kind", KindName(item.kind)},
          {"source", item.source.empty() ? std::string()
                                         : fs::absolute(item.source).lexically_normal().string()},
          {"path", item.stored}};
      const bool present = !item.source.empty() && (item.kind == BackupItemKind::kDirectory
                                                        ? fs::is_directory(item.source, error)
                                                        : fs::is_regular_file(item.source, error));
      entry["present"] = present;
      if (!present) {
        items.push_back(std::move(entry));
        continue;
      }
      const fs::path target = partial / item.stored;
      fs::create_directories(target.parent_path(), error);
      if (error) {
        throw IoError("cannot create " + target.parent_path().string() + ": " + error.message());
      }
      std::map<std::string, FileDigest> digests;  // relative to `partial`
      switch (item.kind) {
        case BackupItemKind::kSqlite: {
          const SqliteDatabaseInfo info = BackupSqliteDatabase(item.source, target);
          struct stat st {};
          if (::stat(item.source.c_str(), &st) == 0) ::chmod(target.c_str(), st.st_mode & 0777);
          digests[item.stored] = {Sha256FileHex(target), fs::file_size(target)};
          entry["schema_version"] = info.user_version;
          entry["application_id"] = info.application_id;
          json::object tables;
          for (const auto& [table, rows] : info.table_rows) tables[table] = rows;
          entry["tables"] = std::move(tables);
          break;
        }
        case BackupItemKind::kFile:
          digests[item.stored] = CopyFileHashed(item.source, target);
          break;
        case BackupItemKind::kDirectory: {
          std::string problem;
          for (int attempt = 1;; ++attempt) {
            std::map<std::string, FileDigest> copied;
            RemoveQuietly(target);
            CopyTreeHashed(item.source, target, &copied);
            problem.clear();
            if (copied.count("manifest.json")) {
              const std::optional<json::object> model =
                  ParseObject(ReadFile(target / "manifest.json"));
              problem =
                  model ? CheckAgainstModelManifest(copied, *model) : "unreadable manifest.json";
              if (model && problem.empty()) {
                entry["format"] = StringField(*model, "format");
                entry["version"] = StringField(*model, "version");
                entry["created_at"] = StringField(*model, "created_at");
              }
            }
            if (problem.empty()) {
              for (auto& [relative, digest] : copied) {
                digests[item.stored + "/" + relative] = std::move(digest);
              }
              break;
            }
            if (attempt == kModelCopyAttempts) {
              throw ModelError(item.source.string() + ": cannot take a consistent copy (" +
                               problem + "; is it being retrained?)");
            }
          }
          break;
        }
      }
      uint64_t bytes = 0;
      for (const auto& [relative, digest] : digests) {
        files[relative] = {{"sha256", digest.sha256}, {"bytes", digest.bytes}};
        bytes += digest.bytes;
        ++result.files;
      }
      entry["bytes"] = bytes;
      result.bytes += bytes;
      items.push_back(std::move(entry));
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.manifest = {{"format", kBackupFormat},
                       {"format_version", kBackupFormatVersion},
                       {"name", name},
                       {"created_at", UtcNow()},
                       {"host", HostName()},
                       {"program_version", options.program_version},
                       {"seconds", result.seconds},
                       {"items", std::move(items)},
                       {"files", std::move(files)}};
    WriteFileAtomically(partial / kBackupManifest, json::serialize(result.manifest) + "\n");
    std::set<fs::path> directories;
    for (auto it = fs::recursive_directory_iterator(partial, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_directory()) directories.insert(it->path());
    }
    for (const fs::path& dir : directories) SyncDirectory(dir);
    SyncDirectory(partial);
    result.dir = options.root / name;
    if (::rename(partial.c_str(), result.dir.c_str()) != 0) {
      throw IoError("cannot rename " + partial.string() + " to " + result.dir.string() + ": " +
                    Errno());
    }
    SyncDirectory(options.root);
  } catch (...) {
    RemoveQuietly(partial);
    throw;
  }
  return result;
}

std::vector<BackupSummary> ListBackups(const fs::path& root) {
  std::vector<BackupSummary> backups;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    std::error_code e;
    if (name.empty() || name[0] == '.' || !entry.is_directory(e)) continue;
    BackupSummary summary;
    summary.name = name;
    summary.dir = entry.path();
    std::optional<json::object> manifest = ReadManifest(entry.path(), &summary.problem);
    if (manifest) {
      summary.created_at = StringField(*manifest, "created_at");
      summary.host = StringField(*manifest, "host");
      if (const json::value* files = manifest->if_contains("files"); files && files->is_object()) {
        for (const auto& [path, file] : files->as_object()) {
          const json::object* f = file.if_object();
          summary.bytes += UnsignedValue(f ? f->if_contains("bytes") : nullptr).value_or(0);
        }
      }
      if (const json::value* items = manifest->if_contains("items"); items && items->is_array()) {
        for (const json::value& item : items->as_array()) {
          const json::object* i = item.if_object();
          if (i == nullptr) continue;
          const json::value* present = i->if_contains("present");
          if (present && present->is_bool() && !present->as_bool()) continue;
          const std::string role = StringField(*i, "role");
          summary.roles.push_back(role);
          if (role == "sessions") {
            const json::value* tables = i->if_contains("tables");
            if (tables && tables->is_object()) {
              const json::value* rows = tables->as_object().if_contains("sessions");
              if (rows && rows->is_int64()) summary.sessions = rows->as_int64();
            }
          }
        }
      }
      summary.manifest = std::move(*manifest);
    }
    backups.push_back(std::move(summary));
  }
  std::sort(backups.begin(), backups.end(),
            [](const BackupSummary& a, const BackupSummary& b) { return a.name < b.name; });
  return backups;
}

fs::path ResolveBackup(const fs::path& root, const std::string& which) {
  if (which.find('/') != std::string::npos) {
    std::error_code error;
    if (!fs::is_directory(which, error)) throw DataError("no backup folder " + which);
    return which;
  }
  const std::vector<BackupSummary> backups = ListBackups(root);
  if (which == "latest") {
    for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
      if (it->problem.empty()) return it->dir;
    }
    throw DataError("no complete backup in " + root.string());
  }
  for (const BackupSummary& b : backups) {
    if (b.name == which) return b.dir;
  }
  throw DataError("no backup " + which + " in " + root.string() +
                  " (chatbot backup list shows them)");
}

BackupVerification VerifyBackup(const fs::path& dir) {
  BackupVerification v;
  v.dir = dir;
  std::string problem;
  std::optional<json::object> manifest = ReadManifest(dir, &problem);
  if (!manifest) {
    v.problems.push_back(problem);
    return v;
  }
  v.manifest = *manifest;
  const json::value* files_value = manifest->if_contains("files");
  if (files_value == nullptr || !files_value->is_object()) {
    v.problems.push_back("the manifest lists no files");
    return v;
  }
  const json::object& files = files_value->as_object();
  std::map<std::string, std::string> digests;  // as found, for the model checks
  std::set<std::string> damaged;               // already reported
  for (const auto& [key, entry] : files) {
    const std::string name(key);
    const json::object* e = entry.if_object();
    const std::string sha = e ? StringField(*e, "sha256") : "";
    const std::optional<uint64_t> bytes = UnsignedValue(e ? e->if_contains("bytes") : nullptr);
    if (!IsSafeRelative(name) || sha.empty() || !bytes) {
      v.problems.push_back(name + ": bad manifest entry");
      continue;
    }
    const fs::path file = dir / name;
    std::error_code error;
    const uint64_t size = fs::file_size(file, error);
    if (error) {
      v.problems.push_back(name + ": missing");
      continue;
    }
    ++v.files;
    v.bytes += size;
    if (size != *bytes) {
      v.problems.push_back(fmt::format("{}: {} bytes, the manifest says {} (truncated or changed)",
                                       name, size, *bytes));
      continue;
    }
    try {
      const std::string actual = Sha256FileHex(file);
      digests[name] = actual;
      if (actual != sha) {
        v.problems.push_back(name + ": checksum differs from the manifest (damaged or changed)");
        damaged.insert(name);
      }
    } catch (const Error& err) {
      v.problems.push_back(name + ": unreadable: " + err.what());
    }
  }
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory()) continue;
    const std::string relative = it->path().lexically_relative(dir).generic_string();
    if (relative != kBackupManifest && !files.contains(relative)) {
      v.problems.push_back(relative + ": not listed in the manifest");
    }
  }

  const json::value* items = manifest->if_contains("items");
  if (items == nullptr || !items->is_array()) {
    v.problems.push_back("the manifest lists no items");
    return v;
  }
  for (const json::value& item_value : items->as_array()) {
    const json::object* item = item_value.if_object();
    if (item == nullptr) continue;
    const json::value* present = item->if_contains("present");
    if (present && present->is_bool() && !present->as_bool()) continue;
    const std::string role = StringField(*item, "role");
    const std::string kind = StringField(*item, "kind");
    const std::string path = StringField(*item, "path");
    if (!IsSafeRelative(path)) {
      v.problems.push_back(role + ": bad path '" + path + "'");
      continue;
    }
    if (kind == "sqlite") {
      if (!digests.count(path)) continue;  // already reported
      try {
        const SqliteDatabaseInfo info = InspectSqliteDatabase(dir / path, true);
        if (const json::value* tables = item->if_contains("tables");
            tables && tables->is_object()) {
          for (const auto& [table, rows] : tables->as_object()) {
            const auto it = info.table_rows.find(std::string(table));
            if (rows.is_int64() && (it == info.table_rows.end() || it->second != rows.as_int64())) {
              v.problems.push_back(fmt::format("{}: table {} does not hold the {} rows recorded",
                                               path, std::string(table), rows.as_int64()));
            }
          }
        }
      } catch (const Error& e) {
        v.problems.push_back(role + ": " + e.what());
      }
    } else if (kind == "directory") {
      const std::string model_manifest = path + "/manifest.json";
      if (!digests.count(model_manifest)) continue;
      // A damaged file is reported once, above, not again as a model problem.
      const auto first_damaged = damaged.lower_bound(path + "/");
      if (first_damaged != damaged.end() && first_damaged->starts_with(path + "/")) continue;
      std::optional<json::object> model;
      try {
        model = ParseObject(ReadFile(dir / model_manifest));
      } catch (const Error&) {
      }
      if (!model) {
        v.problems.push_back(model_manifest + ": unreadable");
        continue;
      }
      std::map<std::string, FileDigest> found;
      for (const auto& [name, sha] : digests) {
        if (name.starts_with(path + "/")) found[name.substr(path.size() + 1)] = {sha, 0};
      }
      const std::string mismatch = CheckAgainstModelManifest(found, *model);
      if (!mismatch.empty()) v.problems.push_back(role + ": " + mismatch);
    }
  }
  return v;
}

std::vector<std::string> PruneBackups(const fs::path& root, int64_t keep, int64_t max_age_seconds,
                                      const std::string& protect) {
  std::vector<BackupSummary> complete;
  for (BackupSummary& b : ListBackups(root)) {
    if (b.problem.empty()) complete.push_back(std::move(b));
  }
  std::vector<std::string> removed;
  if (complete.empty()) return removed;
  const std::string newest = complete.back().name;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (size_t i = 0; i < complete.size(); ++i) {
    const BackupSummary& b = complete[i];
    if (b.name == newest || b.name == protect) continue;
    bool remove = keep > 0 && static_cast<int64_t>(complete.size() - i) > keep;
    if (max_age_seconds > 0) {
      const std::optional<int64_t> created = ParseUtc(b.created_at);
      if (created && now - *created > max_age_seconds) remove = true;
    }
    if (!remove) continue;
    std::error_code error;
    fs::remove_all(b.dir, error);
    if (error) throw IoError("cannot remove " + b.dir.string() + ": " + error.message());
    removed.push_back(b.name);
  }
  // Folders of backups that never finished (a crash, a full disk).
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kPartialPrefix)) continue;
    std::error_code e;
    const auto modified = fs::last_write_time(entry.path(), e);
    if (!e && fs::file_time_type::clock::now() - modified > std::chrono::hours(24)) {
      RemoveQuietly(entry.path());
    }
  }
  SyncDirectory(root);
  return removed;
}

namespace {

// One item being restored.
struct Staged {
  std::string role;
  std::string kind;    // "sqlite", "directory", "file"
  std::string stored;  // its path inside the backup
  fs::path target;
  fs::path staged;  // the new copy; after the swap, the old data
  bool target_existed = false;
  bool swapped = false;
  std::vector<std::string> moved_side_files;  // "-wal", "-shm" moved with the old database
};

void Rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw IoError("cannot rename " + from.string() + " to " + to.string() + ": " + Errno());
  }
}

void Exchange(const fs::path& a, const fs::path& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    throw IoError("cannot swap " + a.string() + " and " + b.string() + ": " + Errno());
  }
}

void SwapIn(Staged* s) {
  std::error_code error;
  if (s->kind == "sqlite") {
    // The old database's WAL and shared memory must not meet the new one:
    // they go with the old file.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      const fs::path side = s->target.string() + suffix;
      if (fs::exists(side, error)) {
        Rename(side, s->staged.string() + suffix);
        s->moved_side_files.push_back(suffix);
      }
    }
  }
  if (s->target_existed) {
    Exchange(s->staged, s->target);
  } else {
    Rename(s->staged, s->target);
  }
  s->swapped = true;
}

// Undoes SwapIn; best effort (it runs while handling another failure).
void SwapBack(Staged* s) {
  if (s->swapped) {
    if (s->target_existed) {
      ::renameat2(AT_FDCWD, s->staged.c_str(), AT_FDCWD, s->target.c_str(), RENAME_EXCHANGE);
    } else {
      ::rename(s->target.c_str(), s->staged.c_str());
    }
    s->swapped = false;
  }
  for (const std::string& suffix : s->moved_side_files) {
    ::rename((s->staged.string() + suffix).c_str(), (s->target.string() + suffix).c_str());
  }
  s->moved_side_files.clear();
}

void RemoveStaged(const Staged& s) {
  RemoveQuietly(s.staged);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    RemoveQuietly(s.staged.string() + suffix);
  }
}

}  // namespace

RestoreResult RestoreBackup(const RestoreOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const BackupVerification verification = VerifyBackup(options.backup);
  if (!verification.ok()) {
    std::string message = "backup " + options.backup.string() + " is damaged; nothing restored:";
    for (const std::string& p : verification.problems) message += "\n  " + p;
    throw DataError(message);
  }
  log(fmt::format("verified backup {}: {} files, {} bytes", options.backup.string(),
                  verification.files, verification.bytes));
  const json::object& manifest = verification.manifest;
  const json::object& files = manifest.at("files").as_object();

  RestoreResult result;
  std::map<std::string, const RestoreTarget*> targets;
  for (const RestoreTarget& t : options.targets) targets[t.role] = &t;
  std::vector<Staged> plan;
  std::set<std::string> backed_up;
  for (const json::value& item_value : manifest.at("items").as_array()) {
    const json::object* item = item_value.if_object();
    if (item == nullptr) continue;
    const std::string role = StringField(*item, "role");
    const json::value* present = item->if_contains("present");
    if (present && present->is_bool() && !present->as_bool()) continue;
    backed_up.insert(role);
    const auto target = targets.find(role);
    if (target == targets.end()) {
      result.skipped.push_back(role + ": no place for it in this configuration");
      continue;
    }
    Staged s;
    s.role = role;
    s.kind = StringField(*item, "kind");
    s.stored = StringField(*item, "path");
    s.target = target->second->path;
    const fs::path parent = s.target.parent_path().empty() ? fs::path(".") : s.target.parent_path();
    s.staged = parent / ("." + s.target.filename().string() + ".restore-" + RandomSuffix());
    plan.push_back(std::move(s));
    std::error_code error;
    plan.back().target_existed = fs::exists(plan.back().target, error);
  }
  for (const RestoreTarget& t : options.targets) {
    if (!backed_up.count(t.role)) {
      result.skipped.push_back(t.role + ": not in the backup; " + t.path.string() + " left as is");
    }
  }

  // 1. Copies beside the targets, checked against the manifest.
  try {
    for (Staged& s : plan) {
      const std::string& stored = s.stored;
      std::error_code error;
      fs::create_directories(s.staged.parent_path(), error);
      if (error) {
        throw IoError("cannot create " + s.staged.parent_path().string() + ": " + error.message());
      }
      std::map<std::string, FileDigest> copied;  // relative to the backup folder
      if (s.kind == "directory") {
        std::map<std::string, FileDigest> tree;
        CopyTreeHashed(options.backup / stored, s.staged, &tree);
        for (auto& [relative, digest] : tree) copied[stored + "/" + relative] = std::move(digest);
      } else {
        copied[stored] = CopyFileHashed(options.backup / stored, s.staged);
      }
      for (const auto& [relative, digest] : copied) {
        const json::object* expected =
            files.contains(relative) ? files.at(relative).if_object() : nullptr;
        if (expected == nullptr || StringField(*expected, "sha256") != digest.sha256) {
          throw DataError("restore " + s.role + ": the copy of " + relative +
                          " does not match the backup's manifest");
        }
      }
      log(fmt::format("staged {} ({} files)", s.role, copied.size()));
    }
  } catch (...) {
    for (const Staged& s : plan) RemoveStaged(s);
    throw;
  }

  // 2. Swap them in; on any failure swap back what was done.
  size_t swaps = 0;
  try {
    for (Staged& s : plan) {
      if (s.kind == "sqlite" && s.target_existed) {
        try {
          SettleSqliteDatabase(s.target);
        } catch (const Error& e) {
          log(
              fmt::format("note: the current {} could not be checkpointed ({}); its WAL is "
                          "discarded with it",
                          s.role, e.what()));
        }
      }
      SwapIn(&s);
      ++swaps;
      if (options.fail_after_swaps >= 0 && swaps == static_cast<size_t>(options.fail_after_swaps)) {
        throw IoError("restore: failure injected after " + std::to_string(swaps) + " swaps");
      }
    }
  } catch (...) {
    for (auto it = plan.rbegin(); it != plan.rend(); ++it) SwapBack(&*it);
    for (const Staged& s : plan) RemoveStaged(s);
    throw;
  }

  // 3. The old data (now at the staged paths) goes.
  std::set<fs::path> parents;
  for (const Staged& s : plan) {
    RemoveStaged(s);
    parents.insert(s.target.parent_path().empty() ? fs::path(".") : s.target.parent_path());
    result.restored.push_back(s.role + " -> " + s.target.string());
    log("restored " + s.role + " -> " + s.target.string());
  }
  for (const fs::path& parent : parents) SyncDirectory(parent);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace chatbot::ops
