#include "store/open_session_store.h"

#include "db/pg_settings.h"
#include "store/postgres_session_store.h"
#include "store/sqlite_session_store.h"

namespace chatbot::store {

std::unique_ptr<SessionStore> OpenSessionStore(const Settings& settings) {
  if (settings.store.backend == "postgres") {
    return std::make_unique<PostgresSessionStore>(db::PgOptionsFromSettings(settings));
  }
  return SqliteSessionStore::Open(settings.sessions.path, settings.sessions.synchronous == "full");
}

}  // namespace chatbot::store
