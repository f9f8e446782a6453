// The [store] postgres_* settings as pool options (pg_pool.h): the
// connection string from postgres_url, or else from the file
// postgres_url_file, so that a password need not be in the configuration.
#ifndef CHATBOT_DB_PG_SETTINGS_H_
#define CHATBOT_DB_PG_SETTINGS_H_

#include "common/config.h"
#include "db/pg_pool.h"

namespace chatbot::db {

// Throws ConfigError when neither setting gives a connection string or the
// file cannot be read (naming the setting and the file).
PgOptions PgOptionsFromSettings(const Settings& settings);

}  // namespace chatbot::db

#endif  // CHATBOT_DB_PG_SETTINGS_H_
