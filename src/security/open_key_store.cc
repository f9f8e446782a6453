#include "security/open_key_store.h"

#include "db/pg_settings.h"
#include "security/postgres_key_store.h"

namespace chatbot::security {

std::unique_ptr<KeyStore> OpenKeyStore(const Settings& settings) {
  if (settings.store.backend == "postgres") {
    return std::make_unique<PostgresKeyStore>(db::PgOptionsFromSettings(settings));
  }
  return KeyStore::Open(settings.security.database);
}

}  // namespace chatbot::security
