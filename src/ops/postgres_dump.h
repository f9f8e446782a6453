// The PostgreSQL database of store.backend = postgres in a backup: a dump
// taken while the service serves, its check at rest, and its restore.
//
// The dump is pg_dump's custom format, consistent as of one moment: a
// connection opens a REPEATABLE READ transaction, exports its snapshot
// (pg_export_snapshot), counts every table's rows in it, and pg_dump
// --snapshot dumps exactly that state; the instances keep committing turns
// meanwhile (readers never block writers). So every turn committed before
// the backup started is in it, and the row counts recorded in the manifest
// are those of the dump.
//
// pg_dump and pg_restore (package postgresql-client, found in PATH) get the
// connection string without its password on their command line (which any
// user can read in ps); the password, when the string has one, goes in a
// password file of the current user's only (mode 0600, PGPASSFILE), removed
// when the tool ends.
//
// A restore goes into an empty database (no table outside the system
// schemas) in one transaction (pg_restore --single-transaction), without
// the dumped owners and privileges (--no-owner --no-privileges: the tables
// belong to the user of the restoring connection), then checks every
// table's row count against the manifest. A database that already holds
// tables is refused unless `replace` is given: then the backup's tables are
// dropped and recreated (pg_restore --clean --if-exists), and any other
// table is left alone.
#ifndef CHATBOT_OPS_POSTGRES_DUMP_H_
#define CHATBOT_OPS_POSTGRES_DUMP_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace chatbot::ops {

struct PostgresDumpInfo {
  std::string server;          // "host:port/database", no password
  std::string server_version;  // "15.14"
  std::string snapshot_at;     // the server's clock when the snapshot was taken (UTC, ISO 8601)
  // Rows of every table in the snapshot, by name ("sessions"; "schema.table"
  // outside the public schema).
  std::map<std::string, int64_t> table_rows;
};

// Dumps the database `url` names into the new file `destination`. Throws
// StoreUnavailable when the server cannot be reached, StoreError when
// pg_dump fails (with its message), ConfigError when pg_dump is missing.
PostgresDumpInfo DumpPostgresDatabase(const std::string& url, int connect_timeout_ms,
                                      const std::filesystem::path& destination);

// Reads the whole dump as pg_restore would (its table of contents and every
// table's data, decompressed, written nowhere) and returns the tables whose
// data it holds. Throws DataError naming the file when it is not a readable
// pg_dump archive.
std::set<std::string> CheckPostgresDump(const std::filesystem::path& dump);

// The tables outside the system schemas, as named in PostgresDumpInfo.
// Throws as DumpPostgresDatabase.
std::map<std::string, int64_t> PostgresTableRows(const std::string& url, int connect_timeout_ms);

// Restores `dump` into the database `url` names (see above). `expected`:
// the row counts the manifest recorded, checked afterwards. Throws
// DataError when the database is not empty and !replace, or when the counts
// differ; StoreError when pg_restore fails (nothing was restored then).
void RestorePostgresDatabase(const std::string& url, int connect_timeout_ms,
                             const std::filesystem::path& dump, bool replace,
                             const std::map<std::string, int64_t>& expected);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_POSTGRES_DUMP_H_
