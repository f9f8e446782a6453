#include "ops/backup_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"

namespace chatbot::ops {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string Errno() {
  return std::strerror(errno);
}

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

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RandomSuffix() {
  std::random_device random;
  return fmt::format("{}-{:08x}", ::getpid(), random());
}

void RemoveQuietly(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
}

}  // namespace chatbot::ops
