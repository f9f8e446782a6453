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
#include "common/disk_space.h"
#include "common/error.h"
#include "common/sha256.h"
#include "common/time.h"
#include "db/pg_connection.h"
#include "ops/backup_files.h"
#include "ops/postgres_dump.h"
#include "ops/sqlite_backup.h"

namespace chatbot::ops {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Attempts at copying a model folder that training replaces meanwhile.
constexpr int kModelCopyAttempts = 3;

const char* KindName(BackupItemKind kind) {
  switch (kind) {
    case BackupItemKind::kSqlite:
      return "sqlite";
    case BackupItemKind::kDirectory:
      return "directory";
    case BackupItemKind::kFile:
      return "file";
    case BackupItemKind::kPostgres:
      return "postgres";
  }
  return "file";
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

std::optional<uint64_t> UnsignedValue(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

// {"table": rows, ...} for a database item of the manifest.
json::object TablesJson(const std::map<std::string, int64_t>& table_rows) {
  json::object tables;
  for (const auto& [table, rows] : table_rows) tables[table] = rows;
  return tables;
}

// "20261129T002747Z" for the current time.
std::string BackupNameNow() {
  return FormatUtc(std::time(nullptr), "%Y%m%dT%H%M%SZ");
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

// What the items take on disk now (a database with its WAL): about what
// their copies will take.
uint64_t EstimatedBytes(const std::vector<BackupItem>& items) {
  uint64_t bytes = 0;
  std::error_code error;
  const auto size_of = [&](const fs::path& file) {
    const uintmax_t size = fs::file_size(file, error);
    return error ? uint64_t{0} : static_cast<uint64_t>(size);
  };
  for (const BackupItem& item : items) {
    if (item.source.empty()) continue;
    if (item.kind == BackupItemKind::kDirectory) {
      for (auto it = fs::recursive_directory_iterator(item.source, error);
           !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (it->is_regular_file(error)) bytes += size_of(it->path());
      }
      continue;
    }
    bytes += size_of(item.source);
    if (item.kind == BackupItemKind::kSqlite) bytes += size_of(item.source.string() + "-wal");
  }
  return bytes;
}

}  // namespace

BackupResult CreateBackup(const BackupOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code error;
  fs::create_directories(options.root, error);
  if (error) throw IoError("cannot create " + options.root.string() + ": " + error.message());
  // A backup that cannot fit fails before it starts, saying how much space
  // it needs, rather than half way with the disk full.
  const uint64_t needed = EstimatedBytes(options.items);
  if (const std::optional<uint64_t> available = AvailableBytes(options.root);
      available && *available < needed) {
    throw IoError("cannot back up into " + options.root.string() + ": " +
                  NoSpaceMessage(options.root, needed));
  }

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
      const bool postgres = item.kind == BackupItemKind::kPostgres;
      json::object entry{
          {"role", item.role},
          {"kind", KindName(item.kind)},
          {"source", postgres              ? db::DescribeServer(item.connection)
                     : item.source.empty() ? std::string()
                                           : fs::absolute(item.source).lexically_normal().string()},
          {"path", item.stored}};
      const bool present =
          postgres ? !item.connection.empty()
                   : !item.source.empty() && (item.kind == BackupItemKind::kDirectory
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
          entry["tables"] = TablesJson(info.table_rows);
          break;
        }
        case BackupItemKind::kFile:
          digests[item.stored] = CopyFileHashed(item.source, target);
          break;
        case BackupItemKind::kPostgres: {
          const PostgresDumpInfo info =
              DumpPostgresDatabase(item.connection, item.connect_timeout_ms, target);
          ::chmod(target.c_str(), 0600);  // pg_dump fsyncs what it wrote
          digests[item.stored] = {Sha256FileHex(target), fs::file_size(target)};
          entry["server_version"] = info.server_version;
          entry["snapshot_at"] = info.snapshot_at;
          entry["tables"] = TablesJson(info.table_rows);
          break;
        }
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
                       {"created_at", UtcTimestamp()},
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
          if (role == "sessions" || role == "database") {
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
    } else if (kind == "postgres") {
      if (!digests.count(path) || damaged.count(path)) continue;  // already reported
      try {
        const std::set<std::string> dumped = CheckPostgresDump(dir / path);
        if (const json::value* tables = item->if_contains("tables");
            tables && tables->is_object()) {
          for (const auto& [table, rows] : tables->as_object()) {
            if (!dumped.count(std::string(table))) {
              v.problems.push_back(
                  fmt::format("{}: holds no data of table {}", path, std::string(table)));
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
  const int64_t now = NowMs() / 1000;
  for (size_t i = 0; i < complete.size(); ++i) {
    const BackupSummary& b = complete[i];
    if (b.name == newest || b.name == protect) continue;
    bool remove = keep > 0 && static_cast<int64_t>(complete.size() - i) > keep;
    if (max_age_seconds > 0) {
      const std::optional<int64_t> created = ParseUtcTimestamp(b.created_at);
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

}  // namespace chatbot::ops
