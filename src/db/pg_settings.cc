#include "db/pg_settings.h"

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/strings.h"

namespace chatbot::db {

PgOptions PgOptionsFromSettings(const Settings& settings) {
  const Settings::Store& s = settings.store;
  PgOptions options;
  options.pool_size = static_cast<int>(s.postgres_pool_size);
  options.connect_timeout_ms = static_cast<int>(s.postgres_connect_timeout_ms);
  options.query_timeout_ms = static_cast<int>(s.postgres_query_timeout_ms);
  options.url = s.postgres_url;
  if (options.url.empty() && !s.postgres_url_file.empty()) {
    std::ifstream in(s.postgres_url_file);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
      throw ConfigError("store.postgres_url_file: cannot read " + s.postgres_url_file);
    }
    options.url = std::string(Trim(text.str(), " \t\r\n"));
  }
  if (options.url.empty()) {
    throw ConfigError(
        "store.backend = postgres needs a connection string: set store.postgres_url "
        "(or CHATBOT_STORE_POSTGRES_URL) or store.postgres_url_file");
  }
  return options;
}

}  // namespace chatbot::db
