// A fixed-size pool of PostgreSQL connections (pg_connection.h) shared by
// a store's threads, with a bounded wait: a request never hangs on the
// database. Connections are opened on demand up to the pool's size; one
// that broke (the server restarted or went away) is dropped on its way back
// and a fresh one is opened next time, so the service recovers by itself
// when the server returns.
//
// PgTransaction is BEGIN ... COMMIT on a leased connection, rolled back
// when left without Commit().
#ifndef CHATBOT_DB_PG_POOL_H_
#define CHATBOT_DB_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/pg_connection.h"

namespace chatbot::db {

struct PgOptions {
  std::string url;  // a libpq connection string (key=value or postgresql:// URI)
  int pool_size = 8;
  // Bounds both opening a connection and waiting for a free one.
  int connect_timeout_ms = 5000;
  // Bounds the wait for each statement's answer; 0: no limit. A connection
  // that ran out of it is dropped.
  int query_timeout_ms = 0;
};

class PgPool;

// A connection lent by the pool, given back (or dropped when broken) on
// destruction.
class PgLease {
 public:
  PgLease(PgPool* pool, std::unique_ptr<PgConnection> connection)
      : pool_(pool), connection_(std::move(connection)) {}
  ~PgLease();
  PgLease(PgLease&&) = default;
  PgLease(const PgLease&) = delete;
  PgLease& operator=(const PgLease&) = delete;

  PgConnection& operator*() const { return *connection_; }
  PgConnection* operator->() const { return connection_.get(); }

 private:
  PgPool* pool_;
  std::unique_ptr<PgConnection> connection_;
};

class PgPool {
 public:
  // Opens no connection yet. Throws ConfigError for a malformed URL.
  explicit PgPool(PgOptions options);

  // A connection, waiting at most connect_timeout_ms for one to be free.
  // Throws StoreUnavailable (naming the server) when none can be had.
  PgLease Acquire();

  // "host:port/database", for messages.
  const std::string& server() const { return server_; }
  const PgOptions& options() const { return options_; }

 private:
  friend class PgLease;
  void Return(std::unique_ptr<PgConnection> connection);

  const PgOptions options_;
  const std::string server_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                     // lent + idle; guarded by mu_
};

class PgTransaction {
 public:
  // BEGIN with `mode` appended ("ISOLATION LEVEL REPEATABLE READ", ...).
  explicit PgTransaction(PgConnection& connection, const std::string& mode = {});
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  void Commit();

 private:
  PgConnection& connection_;
  bool done_ = false;
};

}  // namespace chatbot::db

#endif  // CHATBOT_DB_PG_POOL_H_
