#include "store/instance_registry.h"

#include <filesystem>

#include "db/pg_settings.h"
#include "store/postgres_instance_registry.h"
#include "store/sqlite_instance_registry.h"

namespace chatbot::store {

std::unique_ptr<InstanceRegistry> OpenInstanceRegistry(const Settings& settings) {
  if (settings.store.backend == "postgres") {
    db::PgOptions options = db::PgOptionsFromSettings(settings);
    // A heartbeat a second and a read now and then: one connection is enough.
    options.pool_size = 2;
    return std::make_unique<PostgresInstanceRegistry>(options);
  }
  return std::make_unique<SqliteInstanceRegistry>(std::filesystem::path(settings.paths.logs) /
                                                  "instance.db");
}

}  // namespace chatbot::store
