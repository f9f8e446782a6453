// logs/audit.log: one JSON object per line for every security-relevant
// change and for refused requests (aggregated per interval), each with who
// did it:
//
//   {"time":"2026-11-29T01:00:00.000Z","event":"key_revoked",
//    "actor":{"type":"key","key_id":"3f9a...","key_name":"ops","address":"10.0.0.7"},
//    "key_id":"8b21...","key_name":"shop-frontend"}
//
// Both the service and the CLI append to the same file: each line is one
// write(2) on a descriptor opened with O_APPEND, which the kernel appends
// atomically, so lines of concurrent writers never interleave. The file is
// created with mode 0600 and never rotated by the program (an audit trail is
// kept whole; logrotate with copytruncate or create works, since the file is
// reopened when it was moved or removed). Secrets never reach it: callers
// pass key ids and names only.
#ifndef CHATBOT_SECURITY_AUDIT_LOG_H_
#define CHATBOT_SECURITY_AUDIT_LOG_H_

#include <boost/json/object.hpp>
#include <filesystem>
#include <mutex>
#include <string>

namespace chatbot::security {

// Who did something.
struct Actor {
  enum class Type { kKey, kCli, kSystem, kAnonymous } type = Type::kSystem;
  std::string key_id;    // kKey
  std::string key_name;  // kKey
  std::string address;   // kKey, kAnonymous: the client's address
  std::string user;      // kCli: the operating-system user; kSystem: the component
  std::string host;      // kCli

  // The person at this terminal: user name and host name.
  static Actor CommandLine();
  static Actor System(std::string component);
  boost::json::object ToJson() const;
  // "key 3f9a... (ops) from 10.0.0.7", "cli root@host", "system serve".
  std::string Describe() const;
};

class AuditLog {
 public:
  // `path` is created on the first write (its directory too).
  explicit AuditLog(std::filesystem::path path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends {"time", "event", "actor", ...fields}. `time_ms`: Unix ms.
  // Failures to write are reported to the app log, never thrown: a full
  // disk must not turn a revocation into an error after it was committed.
  void Write(std::string_view event, const Actor& actor, const boost::json::object& fields,
             int64_t time_ms);

  const std::filesystem::path& path() const { return path_; }

 private:
  bool OpenLocked();

  const std::filesystem::path path_;
  std::mutex mu_;
  int fd_ = -1;         // guarded by mu_
  uint64_t inode_ = 0;  // of fd_, to notice the file was moved away
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_AUDIT_LOG_H_
