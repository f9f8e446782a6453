#include "nlu/model_manifest.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"

namespace chatbot::nlu {
namespace fs = std::filesystem;

namespace {

std::string Describe(const fs::path& dir) {
  return "model " + dir.string();
}

}  // namespace

void WriteModelDirectory(const fs::path& dir, const std::map<std::string, std::string>& files,
                         boost::json::object manifest) {
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) throw IoError("cannot create " + parent.string() + ": " + error.message());

  std::random_device random;
  const fs::path staging = parent / (dir.filename().string() + ".new." + std::to_string(random()));
  fs::create_directory(staging, error);
  if (error) throw IoError("cannot create " + staging.string() + ": " + error.message());

  try {
    boost::json::object listing;
    for (const auto& [name, contents] : files) {
      WriteFileAtomically(staging / name, contents);
      listing[name] = {{"sha256", Sha256Hex(contents)}, {"bytes", contents.size()}};
    }
    manifest["files"] = std::move(listing);
    WriteFileAtomically(staging / kManifestFile, boost::json::serialize(manifest) + "\n");
    SyncDirectory(staging);

    if (fs::exists(dir)) {
      // Swap old and new in one step; the old one then sits at `staging`.
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
        throw IoError("cannot replace " + dir.string() + ": " + std::strerror(errno));
      }
    } else if (::rename(staging.c_str(), dir.c_str()) != 0) {
      throw IoError("cannot move " + staging.string() + " to " + dir.string() + ": " +
                    std::strerror(errno));
    }
    SyncDirectory(parent);
  } catch (...) {
    fs::remove_all(staging, error);
    throw;
  }
  fs::remove_all(staging, error);  // the old model, after a swap
}

boost::json::object ReadVerifiedManifest(const fs::path& dir, std::string_view expected_format,
                                         int64_t supported_version,
                                         const std::vector<std::string>& required_files,
                                         std::map<std::string, std::string>* contents) {
  const fs::path path = dir / kManifestFile;
  if (!fs::exists(path)) {
    throw ModelError(Describe(dir) + ": no " + kManifestFile + " (is a model trained there?)");
  }
  boost::json::object manifest;
  try {
    boost::json::value parsed = boost::json::parse(ReadFile(path));
    if (!parsed.is_object()) throw ModelError(path.string() + ": not a JSON object");
    manifest = std::move(parsed.as_object());
  } catch (const std::exception& e) {
    if (dynamic_cast<const ModelError*>(&e)) throw;
    throw ModelError(path.string() + ": damaged manifest: " + WithoutSourceLocation(e.what()));
  }

  const auto* format = manifest.if_contains("format");
  if (format == nullptr || !format->is_string() || format->as_string() != expected_format) {
    throw ModelError(
        path.string() + ": not a " + std::string(expected_format) + " model (format " +
        (format && format->is_string() ? std::string(format->as_string()) : "missing") + ")");
  }
  const auto* version = manifest.if_contains("format_version");
  if (version == nullptr || !version->is_int64()) {
    throw ModelError(path.string() + ": missing format_version");
  }
  if (version->as_int64() != supported_version) {
    throw ModelError(path.string() + ": format version " + std::to_string(version->as_int64()) +
                     " is not supported (this build reads version " +
                     std::to_string(supported_version) + "); retrain the model");
  }
  const auto* files = manifest.if_contains("files");
  if (files == nullptr || !files->is_object() || files->as_object().empty()) {
    throw ModelError(path.string() + ": lists no files");
  }
  auto require = [&](const std::string& name) {
    if (!files->as_object().contains(name)) {
      throw ModelError(path.string() + ": does not list " + name + " (damaged manifest)");
    }
  };
  for (const std::string& name : required_files) require(name);
  // A file the caller reads through `contents` is verified or refused, never
  // handed back unread.
  if (contents != nullptr) {
    for (const auto& [name, unused] : *contents) require(name);
  }
  for (const auto& [name, entry] : files->as_object()) {
    const fs::path file = dir / std::string(name);
    if (!entry.is_object() || !entry.as_object().contains("sha256") ||
        !entry.as_object().at("sha256").is_string() || !entry.as_object().contains("bytes")) {
      throw ModelError(path.string() + ": bad entry for " + std::string(name));
    }
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error) throw ModelError(Describe(dir) + ": missing file " + std::string(name));
    const auto& expected = entry.as_object();
    if (!expected.at("bytes").is_int64() && !expected.at("bytes").is_uint64()) {
      throw ModelError(path.string() + ": bad size for " + std::string(name));
    }
    const uint64_t bytes = expected.at("bytes").is_uint64() ? expected.at("bytes").as_uint64()
                                                            : expected.at("bytes").as_int64();
    if (size != bytes) {
      throw ModelError(Describe(dir) + ": " + std::string(name) + " has " + std::to_string(size) +
                       " bytes, the manifest says " + std::to_string(bytes) +
                       " (damaged or truncated)");
    }
    std::string digest;
    if (contents != nullptr && contents->count(std::string(name))) {
      // Hash the very bytes the caller will parse: read once, and a file
      // replaced between the check and the read cannot slip through.
      std::string& data = (*contents)[std::string(name)];
      try {
        data = ReadFile(file);
      } catch (const IoError& e) {
        throw ModelError(e.what());
      }
      if (data.size() != bytes) {
        throw ModelError(Describe(dir) + ": " + std::string(name) + " changed while being read");
      }
      digest = Sha256Hex(data);
    } else {
      digest = Sha256FileHex(file);
    }
    if (digest != expected.at("sha256").as_string()) {
      throw ModelError(Describe(dir) + ": checksum mismatch in " + std::string(name) +
                       " (the file was damaged or changed after training)");
    }
  }
  return manifest;
}

}  // namespace chatbot::nlu
