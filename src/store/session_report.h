// The stored conversations as an operator sees them from the command line
// (`chatbot sessions`, docs/sessions.md): the tables and texts printed, the
// database opened only when it exists, and cleaning with the space given
// back. The commands open the database with their own connection, which is
// safe while the service runs: SQLite's WAL and PostgreSQL's snapshots let
// them read without blocking it, and cleaning deletes in short transactions.
#ifndef CHATBOT_STORE_SESSION_REPORT_H_
#define CHATBOT_STORE_SESSION_REPORT_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "store/session_store.h"

namespace chatbot::store {

// The session store the settings name. SQLite: the database at
// `settings.sessions.path`, or nullptr when there is none: reading commands
// create nothing (nor a directory), e.g. when run from the wrong directory;
// a path that cannot even be examined is left to Open to report.
// PostgreSQL (store.backend = postgres): the service's database, its schema
// brought up to date as the service would; StoreUnavailable names the server
// when it cannot be reached.
std::unique_ptr<SessionStore> OpenExistingSessionStore(const Settings& settings);

// `sessions list`: a header and a row per session ("No sessions." for
// none); when a whole page of `limit` rows was listed, the --before cursor
// of the next page, which the table's times are too coarse to give.
std::string SessionTable(const std::vector<SessionSummary>& sessions, size_t limit);
// `sessions show`: the session, then each turn.
std::string SessionText(const Session& session);

struct CleanResult {
  bool database = false;  // false: there is no database (nothing deleted)
  int64_t deleted = 0;
  int64_t cutoff_ms = 0;  // sessions last active before it were deleted
  std::string idle;       // the idle time, as given or from the settings
  // SQLite: the database and its WAL, in bytes, around the vacuum (both 0
  // without). PostgreSQL gives space back by itself (autovacuum).
  bool sized = false;
  uintmax_t bytes_before = 0;
  uintmax_t bytes_after = 0;
};
// Deletes the sessions of the database OpenExistingSessionStore opens (when
// there is one) idle for longer than `idle_ms` (`idle_text` as typed), or
// without it than sessions.retention_days, logs it, then gives the freed
// pages back to the file system when `vacuum`. Throws ConfigError when
// neither idle time is given.
CleanResult CleanSessions(const Settings& settings, std::optional<int64_t> idle_ms,
                          const std::string& idle_text, bool vacuum, int64_t now_ms);
// `sessions clean`'s report of `result`: what was deleted, and the size of
// the SQLite database at `path` around the vacuum when `vacuum`.
std::string CleanText(const CleanResult& result, const std::string& path, bool vacuum);

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_SESSION_REPORT_H_
