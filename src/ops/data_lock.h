// The lock that tells a restore that a service is using the data, and a
// service that a restore is replacing it.
//
// `chatbot serve` holds a shared (read) lock on serve.lock beside the
// sessions database for as long as it runs; several services may share the
// data. `chatbot restore` takes the exclusive (write) lock for the time it
// swaps the data in: it cannot while a service runs (and says which process
// holds it), and a service started meanwhile refuses to start.
//
// POSIX record locks (fcntl F_SETLK), not flock: F_GETLK reports the pid of
// a holder, so the message can name it and `restore --stop-server` can stop
// it. The kernel drops the lock when the process dies, so a crashed service
// never leaves a stale lock behind. They also drop when the process closes
// any descriptor of the file, so a process holding a DataLock must not call
// Holder() or acquire a second one on the same file.
#ifndef CHATBOT_OPS_DATA_LOCK_H_
#define CHATBOT_OPS_DATA_LOCK_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>

namespace chatbot::ops {

class DataLock {
 public:
  // serve.lock in the directory of the sessions database.
  static std::filesystem::path PathFor(const std::filesystem::path& sessions_database);

  // Shared, for a service. Throws IoError when the file cannot be created,
  // or when a restore holds the lock (naming its pid).
  static std::unique_ptr<DataLock> AcquireShared(const std::filesystem::path& lock_path);

  // Exclusive, for a restore: nullptr when another process holds the lock,
  // whose pid goes to `*holder` (0 when unknown). Throws IoError when the
  // file cannot be created.
  static std::unique_ptr<DataLock> TryAcquireExclusive(const std::filesystem::path& lock_path,
                                                       pid_t* holder);

  // A process holding any lock on the file (the one F_GETLK reports), or 0
  // when none (or the file does not exist).
  static pid_t Holder(const std::filesystem::path& lock_path);

  ~DataLock();  // releases the lock
  DataLock(const DataLock&) = delete;
  DataLock& operator=(const DataLock&) = delete;

 private:
  explicit DataLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_DATA_LOCK_H_
