#include "ops/postgres_dump.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "db/pg_connection.h"
#include "ops/backup_files.h"
#include "ops/child_process.h"

namespace chatbot::ops {
namespace fs = std::filesystem;

namespace {

// Tables outside the system schemas, with the name used in manifests.
constexpr const char* kListTables =
    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
    "'information_schema') ORDER BY 1, 2";

std::string TableName(const std::string& schema, const std::string& table) {
  return schema == "public" ? table : schema + "." + table;
}

// A libpq keyword = value pair's value, quoted.
std::string QuoteConninfoValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The connection string split in two: everything but the password, for a
// tool's command line, and the password.
struct SplitConnection {
  std::string conninfo;
  std::string password;
};

SplitConnection Split(const std::string& url, int connect_timeout_ms) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(url.c_str(), &error), &PQconninfoFree);
  if (options == nullptr) {
    // The message may quote the string, which may hold a password.
    if (error != nullptr) PQfreemem(error);
    throw ConfigError("store.postgres_url: not a valid libpq connection string");
  }
  SplitConnection split;
  bool has_timeout = false;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string keyword = o->keyword;
    if (keyword == "password") {
      split.password = o->val;
      continue;
    }
    if (keyword == "connect_timeout") has_timeout = true;
    if (!split.conninfo.empty()) split.conninfo += ' ';
    split.conninfo += keyword;
    split.conninfo += '=';
    split.conninfo += QuoteConninfoValue(o->val);
  }
  if (!has_timeout && connect_timeout_ms > 0) {
    // libpq's connect_timeout is in whole seconds, at least 2.
    split.conninfo += " connect_timeout=" + std::to_string(std::max(2, connect_timeout_ms / 1000));
  }
  return split;
}

// A password file holding one password for any server, readable by this
// user only, removed when it goes out of scope; empty path without one.
class PasswordFile {
 public:
  explicit PasswordFile(const std::string& password) {
    if (password.empty()) return;
    std::string pattern = (fs::temp_directory_path() / "chatbot-pgpass-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());  // mode 0600
    if (fd < 0)
      throw IoError("cannot create a password file in " + fs::temp_directory_path().string());
    path_ = pattern;
    std::string line = "*:*:*:*:";
    for (char c : password) {
      if (c == ':' || c == '\\') line += '\\';
      line += c;
    }
    line += '\n';
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) {
      ::unlink(path_.c_str());
      throw IoError("cannot write the password file " + path_.string());
    }
  }
  ~PasswordFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  PasswordFile(const PasswordFile&) = delete;
  PasswordFile& operator=(const PasswordFile&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs a PostgreSQL client tool on the connection; throws StoreError (or
// ConfigError when the tool is not installed) naming it and `server`.
void RunTool(const std::string& tool, std::vector<std::string> args, const SplitConnection& conn,
             const std::string& server) {
  const PasswordFile password(conn.password);
  ChildOptions options;
  options.args = {tool};
  options.args.insert(options.args.end(), args.begin(), args.end());
  options.capture_stdout = false;
  if (!password.path().empty()) options.environment["PGPASSFILE"] = password.path().string();
  // Messages in English and no pager or prompt, whatever the environment.
  options.environment["LC_MESSAGES"] = "C";
  const ChildResult result = RunChild(options);
  if (!result.started) {
    throw ConfigError(tool + " could not be run (" + result.error +
                      "): install the PostgreSQL client tools (Debian package postgresql-client)");
  }
  if (!result.ok()) throw StoreError(server + ": " + tool + " " + result.Describe());
}

std::map<std::string, int64_t> CountRows(db::PgConnection& db) {
  std::map<std::string, int64_t> rows;
  const db::PgResult tables = db.Execute(kListTables, "list the tables");
  for (int i = 0; i < tables.rows(); ++i) {
    const std::string schema = tables.Text(i, 0);
    const std::string table = tables.Text(i, 1);
    const db::PgResult count =
        db.Execute("SELECT count(*) FROM " + QuoteIdentifier(schema) + "." + QuoteIdentifier(table),
                   "count the rows of " + table);
    rows[TableName(schema, table)] = count.Int(0, 0);
  }
  return rows;
}

}  // namespace

PostgresDumpInfo DumpPostgresDatabase(const std::string& url, int connect_timeout_ms,
                                      const fs::path& destination) {
  PostgresDumpInfo info;
  info.server = db::DescribeServer(url);
  const SplitConnection conn = Split(url, connect_timeout_ms);
  // Counting the rows of large tables may take longer than a request's
  // statement limit: no limit here (0).
  db::PgConnection db(url, connect_timeout_ms, 0, info.server);
  db.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "begin the backup's snapshot");
  const db::PgResult snapshot = db.Execute(
      "SELECT pg_export_snapshot(), to_char(now() AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), current_setting('server_version')",
      "export the backup's snapshot");
  const std::string snapshot_id = snapshot.Text(0, 0);
  info.snapshot_at = snapshot.Text(0, 1);
  info.server_version = snapshot.Text(0, 2);
  info.table_rows = CountRows(db);
  // The transaction stays open while pg_dump runs: the snapshot lives as
  // long as the transaction that exported it.
  RunTool("pg_dump",
          {"--format=custom", "--snapshot=" + snapshot_id, "--no-password",
           "--file=" + destination.string(), "--dbname=" + conn.conninfo},
          conn, info.server);
  db.Execute("COMMIT", "end the backup's snapshot");
  return info;
}

std::set<std::string> CheckPostgresDump(const fs::path& dump) {
  ChildOptions list;
  list.args = {"pg_restore", "--list", dump.string()};
  list.environment["LC_MESSAGES"] = "C";
  const ChildResult toc = RunChild(list);
  if (!toc.ok()) {
    throw DataError(dump.string() + ": not a readable pg_dump archive: pg_restore " +
                    toc.Describe());
  }
  std::set<std::string> tables;
  std::istringstream lines(toc.out);
  std::string line;
  while (std::getline(lines, line)) {
    // "215; 0 16390 TABLE DATA public sessions postgres"
    const size_t at = line.find(" TABLE DATA ");
    if (line.empty() || line[0] == ';' || at == std::string::npos) continue;
    std::istringstream fields(line.substr(at + 12));
    std::string schema;
    std::string table;
    if (fields >> schema >> table) tables.insert(TableName(schema, table));
  }
  // Every data block read and decompressed, the script written nowhere.
  ChildOptions read;
  read.args = {"pg_restore", "--file=/dev/null", dump.string()};
  read.capture_stdout = false;
  read.environment["LC_MESSAGES"] = "C";
  const ChildResult whole = RunChild(read);
  if (!whole.ok()) {
    throw DataError(dump.string() + ": the pg_dump archive cannot be read to its end: pg_restore " +
                    whole.Describe());
  }
  return tables;
}

std::map<std::string, int64_t> PostgresTableRows(const std::string& url, int connect_timeout_ms) {
  db::PgConnection db(url, connect_timeout_ms, 0, db::DescribeServer(url));
  return CountRows(db);
}

void RestorePostgresDatabase(const std::string& url, int connect_timeout_ms, const fs::path& dump,
                             bool replace, const std::map<std::string, int64_t>& expected) {
  const std::string server = db::DescribeServer(url);
  const SplitConnection conn = Split(url, connect_timeout_ms);
  {
    db::PgConnection db(url, connect_timeout_ms, 0, server);
    const db::PgResult tables = db.Execute(kListTables, "list the tables");
    if (tables.rows() > 0 && !replace) {
      std::string names;
      for (int i = 0; i < tables.rows() && i < 5; ++i) {
        if (i > 0) names += ", ";
        names += TableName(tables.Text(i, 0), tables.Text(i, 1));
      }
      throw DataError("the database " + server + " is not empty (" + std::to_string(tables.rows()) +
                      " tables: " + names + (tables.rows() > 5 ? ", ..." : "") +
                      "): restore into an empty database, or pass --replace-database to drop "
                      "the backup's tables there and restore them");
    }
  }
  std::vector<std::string> args = {"--single-transaction", "--exit-on-error", "--no-owner",
                                   "--no-privileges", "--no-password"};
  if (replace) {
    args.push_back("--clean");
    args.push_back("--if-exists");
  }
  args.push_back("--dbname=" + conn.conninfo);
  args.push_back(dump.string());
  RunTool("pg_restore", args, conn, server);

  const std::map<std::string, int64_t> rows = PostgresTableRows(url, connect_timeout_ms);
  std::string differences;
  for (const auto& [table, count] : expected) {
    const auto it = rows.find(table);
    if (it == rows.end() || it->second != count) {
      differences += "\n  " + table + ": " +
                     (it == rows.end() ? std::string("missing") : std::to_string(it->second)) +
                     " rows, the backup recorded " + std::to_string(count);
    }
  }
  if (!differences.empty()) {
    throw DataError("the database " + server +
                    " does not hold what the backup recorded after pg_restore:" + differences);
  }
}

}  // namespace chatbot::ops
