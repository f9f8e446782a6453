#include "security/audit_log.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/logging.h"
#include "common/private_files.h"
#include "common/time.h"

namespace chatbot::security {

Actor Actor::CommandLine() {
  Actor actor;
  actor.type = Type::kCli;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    actor.user = pw->pw_name;
  } else {
    actor.user = "uid " + std::to_string(::geteuid());
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) actor.host = host;
  return actor;
}

Actor Actor::System(std::string component) {
  Actor actor;
  actor.type = Type::kSystem;
  actor.user = std::move(component);
  return actor;
}

boost::json::object Actor::ToJson() const {
  switch (type) {
    case Type::kKey:
      return {{"type", "key"}, {"key_id", key_id}, {"key_name", key_name}, {"address", address}};
    case Type::kCli:
      return {{"type", "cli"}, {"user", user}, {"host", host}};
    case Type::kSystem:
      return {{"type", "system"}, {"component", user}};
    case Type::kAnonymous:
      return {{"type", "anonymous"}, {"address", address}};
  }
  return {};
}

std::string Actor::Describe() const {
  switch (type) {
    case Type::kKey:
      return "key " + key_id + " (" + key_name + ")" + (address.empty() ? "" : " from " + address);
    case Type::kCli:
      return "cli " + user + "@" + host;
    case Type::kSystem:
      return "system " + user;
    case Type::kAnonymous:
      return "anonymous from " + address;
  }
  return "?";
}

AuditLog::AuditLog(std::filesystem::path path) : path_(std::move(path)) {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::OpenLocked() {
  struct stat st {};
  if (fd_ >= 0) {
    // Still the file at path_? (logrotate may have moved it.)
    if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode_) return true;
    ::close(fd_);
    fd_ = -1;
  }
  if (path_.has_parent_path()) {
    try {
      CreatePrivateDirectories(path_.parent_path());
    } catch (const IoError&) {
      // The open below fails and says so.
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return false;
  if (::fstat(fd_, &st) == 0) inode_ = static_cast<uint64_t>(st.st_ino);
  return true;
}

void AuditLog::Write(std::string_view event, const Actor& actor, const boost::json::object& fields,
                     int64_t time_ms) {
  boost::json::object line{
      {"time", FormatTimestamp(time_ms)}, {"event", event}, {"actor", actor.ToJson()}};
  for (const auto& [name, value] : fields) line[name] = value;
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  std::lock_guard lock(mu_);
  if (!OpenLocked()) {
    AppLog()->error("audit log {}: cannot open: {}; lost event {}", path_.string(),
                    std::strerror(errno), event);
    return;
  }
  const ssize_t written = ::write(fd_, text.data(), text.size());
  if (written != static_cast<ssize_t>(text.size())) {
    AppLog()->error("audit log {}: write failed ({}); event {} may be incomplete", path_.string(),
                    written < 0 ? std::strerror(errno) : "short write", event);
  }
}

}  // namespace chatbot::security
