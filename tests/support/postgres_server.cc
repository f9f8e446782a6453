#include "postgres_server.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "process_runner.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServerUser = "chatbot-test";

// A port nobody listens on now (the kernel's choice for port 0).
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// The unprivileged user the server runs as under root, created when missing.
const passwd* ServerUser() {
  if (const passwd* user = ::getpwnam(kServerUser)) return user;
  ProcessOptions useradd;
  useradd.program = "/usr/sbin/useradd";
  useradd.args = {"--system", "--no-create-home", "--shell", "/usr/sbin/nologin", kServerUser};
  const ProcessResult made = RunProcess(useradd);
  // Another test binary may have created it meanwhile.
  if (const passwd* user = ::getpwnam(kServerUser)) return user;
  throw std::runtime_error("cannot create the user " + std::string(kServerUser) + ": " +
                           Describe(made));
}

void ChownTree(const fs::path& root, uid_t uid, gid_t gid) {
  if (::chown(root.c_str(), uid, gid) != 0) throw std::runtime_error("chown " + root.string());
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (::lchown(entry.path().c_str(), uid, gid) != 0) {
      throw std::runtime_error("chown " + entry.path().string());
    }
  }
}

}  // namespace

fs::path PostgresServer::BinDir() {
  const fs::path dir = "/usr/lib/postgresql/15/bin";
  std::error_code error;
  return fs::exists(dir / "initdb", error) && fs::exists(dir / "pg_ctl", error) ? dir : fs::path();
}

std::vector<std::string> PostgresServer::AsServerUser(std::vector<std::string> command) const {
  if (::geteuid() != 0) return command;
  command.insert(command.begin(), {"/usr/sbin/runuser", "-u", kServerUser, "--"});
  return command;
}

void PostgresServer::RunTool(const std::string& tool, const std::vector<std::string>& args) const {
  std::vector<std::string> command = {(BinDir() / tool).string()};
  command.insert(command.end(), args.begin(), args.end());
  command = AsServerUser(std::move(command));
  ProcessOptions options;
  options.program = command.front();
  options.args.assign(command.begin() + 1, command.end());
  options.working_directory = dir_.path();
  options.environment = {{"LC_ALL", "C"}};
  options.timeout = std::chrono::seconds(60);
  const ProcessResult result = RunProcess(options);
  if (result.exit_code != 0) throw std::runtime_error(tool + " failed: " + Describe(result));
}

PostgresServer::PostgresServer(PostgresServerOptions options) : options_(options) {
  if (BinDir().empty()) throw std::runtime_error("PostgreSQL 15 is not installed");
  data_ = dir_.path() / "data";
  if (::geteuid() == 0) {
    const passwd* user = ServerUser();
    ChownTree(dir_.path(), user->pw_uid, user->pw_gid);
  }
  RunTool("initdb", {"-D", data_.string(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--locale=C", "--no-sync"});
  StartOnFreePort();
}

PostgresServer::PostgresServer(const PostgresServer& primary, const std::string& name)
    : options_(primary.options_), standby_name_(name) {
  data_ = dir_.path() / "data";
  if (::geteuid() == 0) {
    const passwd* user = ServerUser();
    ChownTree(dir_.path(), user->pw_uid, user->pw_gid);
  }
  // -R writes primary_conninfo (and standby.signal); -C -S the slot keeps
  // the primary's WAL until this standby has it.
  RunTool("pg_basebackup", {"-h", "127.0.0.1", "-p", std::to_string(primary.port_), "-U",
                            "postgres", "-D", data_.string(), "-R", "-X", "stream", "-C", "-S",
                            name, "--checkpoint=fast", "--no-sync"});
  StartOnFreePort();
}

void PostgresServer::StartOnFreePort() {
  // A port can be taken between FreePort and the server's bind: try again.
  for (int attempt = 1;; ++attempt) {
    port_ = FreePort();
    try {
      Start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3) throw;
    }
  }
}

PostgresServer::~PostgresServer() {
  try {
    Stop();
  } catch (const std::exception&) {
    // Stop killed it by PID already.
  }
}

void PostgresServer::Start() {
  std::string server_options =
      "-p " + std::to_string(port_) +
      " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_.path().string() +
      " -c max_connections=" + std::to_string(options_.max_connections);
  if (!options_.durable) server_options += " -c fsync=off -c full_page_writes=off";
  // A primary's commits wait for its synchronous standby; on a standby it is
  // what it will do once promoted.
  if (!options_.durable && !options_.replication) server_options += " -c synchronous_commit=off";
  if (options_.replication) {
    server_options += " -c wal_level=replica -c max_wal_senders=8 -c max_replication_slots=8";
  }
  // The walreceiver's application_name, which synchronous_standby_names names.
  if (!standby_name_.empty()) server_options += " -c cluster_name=" + standby_name_;
  RunTool("pg_ctl", {"start", "-w", "-t", "60", "-D", data_.string(), "-l",
                     (dir_.path() / "server.log").string(), "-o", server_options});
  std::ifstream pid_file(data_ / "postmaster.pid");
  pid_file >> pid_;
  if (pid_ <= 0) throw std::runtime_error("PostgreSQL started without a postmaster.pid");
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  try {
    RunTool("pg_ctl", {"stop", "-w", "-t", "30", "-m", "fast", "-D", data_.string()});
  } catch (const std::runtime_error&) {
    ::kill(pid, SIGKILL);
    throw;
  }
  // pg_ctl waited for postmaster.pid to go; make sure of the process too.
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
}

void PostgresServer::Kill() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  ::kill(pid, SIGKILL);
  // Not our child (pg_ctl detached it): wait, boundedly, for it to be gone.
  for (int i = 0; i < 250 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::unique_ptr<PostgresServer> PostgresServer::MakeStandby(const std::string& name) {
  if (!options_.replication) throw std::runtime_error("MakeStandby: the primary replicates not");
  std::unique_ptr<PostgresServer> standby(new PostgresServer(*this, name));
  // Synchronous from now on: ALTER SYSTEM (postgresql.auto.conf) rather than
  // the command line, so that the standby, copied before, does not inherit it.
  Execute("ALTER SYSTEM SET synchronous_standby_names = '" + name + "'");
  Execute("SELECT pg_reload_conf()");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Query("SELECT sync_state FROM pg_stat_replication WHERE application_name = '" + name +
               "'") != "sync") {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the standby " + name + " is not synchronous within 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return standby;
}

void PostgresServer::Promote() {
  RunTool("pg_ctl", {"promote", "-w", "-t", "60", "-D", data_.string()});
}

std::string PostgresServer::Url(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database;
}

void PostgresServer::Execute(const std::string& sql, const std::string& database) const {
  Query(sql, database);
}

std::string PostgresServer::Query(const std::string& sql, const std::string& database) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(Url(database).c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("connect to the test server: " +
                             std::string(PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
  }
  if (status != PGRES_TUPLES_OK || PQntuples(result.get()) == 0) return "";
  return PQgetvalue(result.get(), 0, 0);
}

std::string PostgresServer::CreateDatabase() {
  const std::string name =
      "test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  Execute("CREATE DATABASE " + name);
  return Url(name);
}

PostgresServer* SharedPostgresServer(std::string* why_not) {
  static std::string failure;
  static std::unique_ptr<PostgresServer> server = []() -> std::unique_ptr<PostgresServer> {
    if (PostgresServer::BinDir().empty()) {
      failure = "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin; scripts/setup.sh)";
      return nullptr;
    }
    try {
      return std::make_unique<PostgresServer>();
    } catch (const std::exception& e) {
      failure = e.what();
      return nullptr;
    }
  }();
  if (server == nullptr && why_not != nullptr) *why_not = failure;
  return server.get();
}

}  // namespace chatbot::testing
