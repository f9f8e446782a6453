// One connection to a PostgreSQL server (libpq) and what is run on it:
// statements prepared once per connection and run with text parameters,
// results read by row and column, and errors turned into the project's
// StoreError types, each message naming the server (host:port/database,
// never the password) and the operation that failed.
//
// A connection whose server went away (closed socket, administrator
// shutdown, a failed connect), stopped answering (no reply within the query
// timeout: a stalled server or network) or can no longer write (a server
// that is now a read-only standby) throws StoreUnavailable and reports
// broken(): the pool (pg_pool.h) drops it rather than handing it out again,
// and the next connection goes, through libpq's multi-host connection
// strings with target_session_attrs=read-write, to whichever server is the
// primary now.
#ifndef CHATBOT_DB_PG_CONNECTION_H_
#define CHATBOT_DB_PG_CONNECTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/error.h"

struct pg_conn;
struct pg_result;

namespace chatbot::db {

// A statement the server rejected: its SQLSTATE tells callers what to do
// (23505 a duplicate key, 57014 a cancelled statement).
class PgError : public StoreError {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : StoreError(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kQueryCanceled = "57014";
// A write refused because the server is read-only (a standby, or a primary
// demoted to one).
inline constexpr std::string_view kReadOnlyTransaction = "25006";

// "host:port/database" of a libpq connection string, without the password
// or any other setting, for messages. Throws ConfigError when the string
// cannot be parsed (the message does not repeat it: it may hold a password).
std::string DescribeServer(const std::string& url);

// The parameters of one statement, $1, $2, ... in order; text format
// (integers and doubles written exactly, bytea as \x hex).
class PgParams {
 public:
  PgParams& Text(std::string_view value);
  PgParams& Int(int64_t value);
  PgParams& Double(double value);
  PgParams& Bytes(const uint8_t* data, size_t size);
  PgParams& Null();
  PgParams& OptionalInt(const std::optional<int64_t>& value);
  PgParams& OptionalDouble(const std::optional<double>& value);

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into the parameters (nullptr for NULL), valid while they live.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// A statement's rows, owned (PQclear on destruction).
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;

  int rows() const;
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;
  bool Bool(int row, int column) const;  // 't' / 'f'
  // A bytea column (hex output format).
  std::vector<uint8_t> Bytes(int row, int column) const;
  std::optional<int64_t> OptionalInt(int row, int column) const;
  std::optional<double> OptionalDouble(int row, int column) const;

 private:
  pg_result* result_;
};

// A notification a LISTENing connection received (NOTIFY channel, 'payload').
struct PgNotification {
  std::string channel;
  std::string payload;
};

// A statement known by name, prepared on each connection the first time it
// runs there.
struct PgStatement {
  const char* name;
  std::string sql;
};

class PgConnection {
 public:
  // Connects; throws StoreUnavailable naming `server` when the server
  // cannot be reached or refuses the connection. Every statement then waits
  // at most query_timeout_ms for the server's answer (0: no limit).
  PgConnection(const std::string& url, int connect_timeout_ms, int query_timeout_ms,
               std::string server);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs a prepared statement; `operation` names it in errors.
  PgResult Run(const PgStatement& statement, const PgParams& params, std::string_view operation);
  // Runs SQL text (several statements allowed without parameters).
  PgResult Execute(const std::string& sql, std::string_view operation);
  PgResult Execute(const std::string& sql, const PgParams& params, std::string_view operation);

  // The server went away or the connection is mid-transaction after an
  // error it could not roll back: never to be used again.
  bool broken() const;
  // Reads what the server sent meanwhile without blocking: a connection the
  // server closed while it was idle becomes broken() here.
  void Poll();
  // Inside a transaction block (or failed one).
  bool in_transaction() const;
  // The socket to wait on for what the server sends (notifications); -1
  // when there is none.
  int socket() const;
  // A notification that Poll() or a statement read, oldest first.
  std::optional<PgNotification> NextNotification();
  const std::string& server() const { return server_; }

 private:
  PgResult Check(pg_result* result, std::string_view operation);
  // Waits, within the query timeout, for the answer to what was just sent
  // (`sent` is what PQsend* returned) and checks it.
  PgResult Await(bool sent, std::string_view operation);

  pg_conn* conn_ = nullptr;
  std::string server_;
  int query_timeout_ms_ = 0;
  std::unordered_set<std::string> prepared_;
  bool failed_ = false;
};

}  // namespace chatbot::db

#endif  // CHATBOT_DB_PG_CONNECTION_H_
