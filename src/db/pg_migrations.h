// Schema migrations of a PostgreSQL database, by version number: each
// component (the session store, the keys store) records its version in
// the table chatbot_schema and brings itself up to date when opened, one
// migration per transaction. The whole check-and-migrate runs under a
// session-level pg_advisory_lock, so that several instances starting
// together against a fresh database apply each migration exactly once.
#ifndef CHATBOT_DB_PG_MIGRATIONS_H_
#define CHATBOT_DB_PG_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/pg_pool.h"

namespace chatbot::db {

// Brings `component` from version - 1 to `version`.
struct PgMigration {
  int64_t version;
  std::string sql;
};

// Applies the migrations newer than the recorded version, in order. Throws
// StoreError naming the server when one fails or when the database holds a
// newer version of `component` than the last migration (a newer program
// wrote it); StoreUnavailable when the server cannot be reached.
void ApplyMigrations(PgPool& pool, const std::string& component,
                     const std::vector<PgMigration>& migrations);

// The pool of one component's store: opened with the component's
// migrations applied (throws as ApplyMigrations), and a statement run on a
// connection of its own, the call the stores make most.
class PgComponentPool : public PgPool {
 public:
  PgComponentPool(PgOptions options, const std::string& component,
                  const std::vector<PgMigration>& migrations);

  // As PgConnection::Run on a connection acquired for it.
  PgResult Run(const PgStatement& statement, const PgParams& params, std::string_view operation);
};

}  // namespace chatbot::db

#endif  // CHATBOT_DB_PG_MIGRATIONS_H_
