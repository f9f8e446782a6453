#include "store/session_report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <system_error>

#include "common/error.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/time.h"
#include "store/open_session_store.h"
#include "store/sqlite_session_store.h"

namespace chatbot::store {
namespace {

namespace fs = std::filesystem;

// The database and its WAL, in bytes (0 for a missing file).
uintmax_t DatabaseBytes(const fs::path& path) {
  uintmax_t total = 0;
  for (const fs::path& file : {path, fs::path(path.string() + "-wal")}) {
    std::error_code error;
    const uintmax_t size = fs::file_size(file, error);
    if (!error) total += size;
  }
  return total;
}

}  // namespace

std::unique_ptr<SessionStore> OpenExistingSessionStore(const Settings& settings) {
  if (settings.store.backend == "postgres") return OpenSessionStore(settings);
  const fs::path path = settings.sessions.path;
  const bool full_sync = settings.sessions.synchronous == "full";
  std::error_code error;
  if (!fs::exists(path, error) && !error) return nullptr;
  return SqliteSessionStore::Open(path, full_sync);
}

std::string SessionTable(const std::vector<SessionSummary>& sessions, size_t limit) {
  if (sessions.empty()) return "No sessions.\n";
  size_t id_width = 2;
  for (const SessionSummary& s : sessions) id_width = std::max(id_width, s.id.size());
  const int width = static_cast<int>(id_width);
  std::string out;
  AppendPrintf(&out, "%-*s  %-24s  %-24s  %s\n", width, "ID", "CREATED", "UPDATED", "TURNS");
  for (const SessionSummary& s : sessions) {
    AppendPrintf(&out, "%-*s  %-24s  %-24s  %" PRId64 "\n", width, s.id.c_str(),
                 FormatTimestamp(s.created_at_ms).c_str(), FormatTimestamp(s.updated_at_ms).c_str(),
                 s.turn_count);
  }
  if (sessions.size() == limit) {
    AppendPrintf(&out, "(more may follow: --before %" PRId64 ")\n", sessions.back().created_at_ms);
  }
  return out;
}

std::string SessionText(const Session& session) {
  const SessionSummary& s = session.summary;
  std::string out;
  AppendPrintf(&out, "session  %s\n", s.id.c_str());
  AppendPrintf(&out, "created  %s\n", FormatTimestamp(s.created_at_ms).c_str());
  AppendPrintf(&out, "updated  %s\n", FormatTimestamp(s.updated_at_ms).c_str());
  AppendPrintf(&out, "turns    %" PRId64 "\n", s.turn_count);
  AppendPrintf(&out, "state    %s\n",
               session.dialogue_state.empty() ? "-" : session.dialogue_state.c_str());
  for (const Turn& t : session.turns) {
    AppendPrintf(&out, "\nturn %" PRId64 "  %s  (%" PRId64 " ms, %s %s)\n", t.number,
                 FormatTimestamp(t.received_at_ms).c_str(), t.replied_at_ms - t.received_at_ms,
                 t.model.c_str(), t.model_version.c_str());
    AppendPrintf(&out, "  user:   %s\n", t.user_text.c_str());
    AppendPrintf(&out, "  intent: %s %.4f%s\n", t.intent.c_str(), t.confidence,
                 t.out_of_scope ? " (out of scope)" : "");
    AppendPrintf(&out, "  bot:    %s\n", t.reply.c_str());
  }
  return out;
}

CleanResult CleanSessions(const Settings& settings, std::optional<int64_t> idle_ms,
                          const std::string& idle_text, bool vacuum, int64_t now_ms) {
  CleanResult result;
  result.idle = idle_text;
  if (!idle_ms) {
    const int64_t days = settings.sessions.retention_days;
    if (days <= 0) {
      throw ConfigError(
          "sessions clean: give --older-than DURATION (e.g. 30d), or set "
          "sessions.retention_days");
    }
    idle_ms = days * 86400 * 1000;
    result.idle = std::to_string(days) + "d (sessions.retention_days)";
  }
  result.cutoff_ms = now_ms - *idle_ms;
  const auto store = OpenExistingSessionStore(settings);
  if (store == nullptr) return result;
  result.database = true;
  result.deleted = store->DeleteSessionsUpdatedBefore(result.cutoff_ms);
  const auto* sqlite = dynamic_cast<const SqliteSessionStore*>(store.get());
  AppLog()->info("sessions clean: deleted {} sessions of {} idle for more than {}", result.deleted,
                 sqlite != nullptr ? sqlite->path().string() : "the PostgreSQL store", result.idle);
  if (!vacuum || sqlite == nullptr) return result;
  result.sized = true;
  result.bytes_before = DatabaseBytes(sqlite->path());
  store->Vacuum();
  result.bytes_after = DatabaseBytes(sqlite->path());
  return result;
}

std::string CleanText(const CleanResult& result, const std::string& path, bool vacuum) {
  std::string out;
  if (!result.database) {
    AppendPrintf(&out, "Deleted 0 sessions: there is no database at %s.\n", path.c_str());
    return out;
  }
  AppendPrintf(&out,
               "Deleted %" PRId64 " sessions idle for more than %s (last active before %s).\n",
               result.deleted, result.idle.c_str(), FormatTimestamp(result.cutoff_ms).c_str());
  if (vacuum && result.sized) {
    AppendPrintf(&out, "Database %s: %ju -> %ju bytes.\n", path.c_str(), result.bytes_before,
                 result.bytes_after);
  }
  return out;
}

}  // namespace chatbot::store
