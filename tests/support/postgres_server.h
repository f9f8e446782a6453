// A throwaway PostgreSQL 15 server for tests (the Debian packages' initdb
// and pg_ctl in /usr/lib/postgresql/15/bin): a cluster initialised in a
// temporary directory, listening on 127.0.0.1 only on a free port (and a
// Unix socket in that directory), trust authentication, stopped by its PID
// and removed on destruction.
//
// PostgreSQL refuses to run as root: a test running as root runs the
// server as the system user chatbot-test (created with useradd --system
// when missing) through runuser; otherwise it runs as the test's own user.
//
// Stop() and Start() again keep the data and the port, so a test can show
// what clients see while the database is down and that they recover.
//
// Replication (docs/scaling.md, "A standby that holds every acknowledged
// turn"): a server made with `replication` can make its own streaming
// standby (pg_basebackup through a replication slot), which it then waits
// for at every commit (synchronous_commit=on, the standby named in
// synchronous_standby_names): a commit acknowledged by the primary is on
// both. Kill() loses the primary as a crash would and Promote() makes the
// standby the primary, for failover tests.
#ifndef CHATBOT_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define CHATBOT_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace chatbot::testing {

struct PostgresServerOptions {
  // false: fsync=off and synchronous_commit=off, as fits a test whose data
  // need not survive a power loss; true: the server's durable defaults.
  bool durable = false;
  int max_connections = 200;
  // Streams its WAL to standbys (wal_level=replica, slots, WAL senders),
  // with synchronous_commit=on whatever `durable` says.
  bool replication = false;
};

class PostgresServer {
 public:
  // Where the binaries are; empty when PostgreSQL 15 is not installed.
  static std::filesystem::path BinDir();

  // Initialises and starts a cluster. Throws std::runtime_error with the
  // tools' output when that fails.
  explicit PostgresServer(PostgresServerOptions options = {});
  // Stops the server (fast shutdown, then SIGKILL by PID) and removes it.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the stopped server again on the same port.
  void Start();
  // Fast shutdown (clients are disconnected); the data stays.
  void Stop();
  // SIGKILL to the postmaster, as a crash of its machine would end it: its
  // connections break, nothing is shut down cleanly.
  void Kill();

  // A streaming standby of this server (which must have `replication`),
  // named `name` (its application_name), made with pg_basebackup through
  // the replication slot `name`, started on a port of its own and made
  // synchronous: from its return, every commit here waits for the standby.
  std::unique_ptr<PostgresServer> MakeStandby(const std::string& name = "standby");
  // Promotes this standby to a primary (pg_ctl promote, waiting until it
  // accepts writes).
  void Promote();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

  // A libpq connection string to `database` over TCP on 127.0.0.1.
  std::string Url(const std::string& database = "postgres") const;
  // Creates an empty database with a fresh name and returns its connection
  // string (a test's own database: tests never see each other's rows).
  std::string CreateDatabase();
  // Runs SQL on `database` as the superuser; throws on failure.
  void Execute(const std::string& sql, const std::string& database = "postgres") const;
  // The first column of the first row of a query ("" when no row).
  std::string Query(const std::string& sql, const std::string& database = "postgres") const;

 private:
  void RunTool(const std::string& tool, const std::vector<std::string>& args) const;
  std::vector<std::string> AsServerUser(std::vector<std::string> command) const;
  // A server on a copy made by pg_basebackup from `primary`.
  PostgresServer(const PostgresServer& primary, const std::string& name);
  void StartOnFreePort();

  PostgresServerOptions options_;
  test_support::TempDir dir_{"chatbot-pg"};
  std::filesystem::path data_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
  std::string standby_name_;  // a standby's application_name; empty on a primary
};

// The one server of a test binary, started on first use and stopped when
// the binary exits; nullptr (with the reason) when PostgreSQL is missing,
// for the caller to CHATBOT_SKIP.
PostgresServer* SharedPostgresServer(std::string* why_not);

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_SUPPORT_POSTGRES_SERVER_H_
