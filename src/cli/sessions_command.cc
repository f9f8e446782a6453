// `chatbot sessions list|show|export|clean`: the stored conversations, for
// operators. The commands open the database with their own connection,
// which is safe while the service runs: WAL lets them read without blocking
// it, and clean deletes in short transactions.
#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "common/atomic_file.h"
#include "common/duration.h"
#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "server/review_api.h"
#include "store/sqlite_session_store.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using store::Session;
using store::SessionSummary;
using store::SqliteSessionStore;
using store::Turn;

// Reading commands do not create a database (nor its directory) where there
// is none, e.g. when run from the wrong directory: nullptr means "no
// sessions". A path that cannot even be examined is left to Open to report.
// They read and clean the SQLite file; a PostgreSQL store is the database
// administrator's (pg_dump, SQL), so they refuse rather than show an empty,
// unrelated file.
std::unique_ptr<SqliteSessionStore> OpenExisting(const Settings& settings) {
  if (settings.store.backend != "sqlite") {
    throw ConfigError(
        "chatbot sessions works on the SQLite store (sessions.path); store.backend "
        "is " +
        settings.store.backend + ": use the database's own tools");
  }
  const fs::path path = settings.sessions.path;
  std::error_code error;
  if (!fs::exists(path, error) && !error) return nullptr;
  return SqliteSessionStore::Open(path, settings.sessions.synchronous == "full");
}

// "2024-05-01T12:34:56.789Z".
json::object SummaryToJson(const SessionSummary& s) {
  return {{"id", s.id},
          {"created_at", FormatTimestamp(s.created_at_ms)},
          {"created_at_ms", s.created_at_ms},
          {"updated_at", FormatTimestamp(s.updated_at_ms)},
          {"updated_at_ms", s.updated_at_ms},
          {"turn_count", s.turn_count}};
}

json::object TurnToJson(const Turn& t) {
  return {{"number", t.number},
          {"user_text", t.user_text},
          {"intent", t.intent},
          {"confidence", t.confidence},
          {"out_of_scope", t.out_of_scope},
          {"reply", t.reply},
          {"model", t.model},
          {"model_version", t.model_version},
          {"received_at_ms", t.received_at_ms},
          {"replied_at_ms", t.replied_at_ms}};
}

// The dialogue state is JSON written by the dialogue engine: embedded as
// JSON when it parses, as a string otherwise (so nothing is lost), null
// when there is none yet.
json::value StateToJson(const std::string& state) {
  if (state.empty()) return nullptr;
  std::error_code error;
  json::value parsed = json::parse(state, error);
  if (error) return json::string(state);
  return parsed;
}

json::object SessionToJson(const Session& session) {
  json::object object = SummaryToJson(session.summary);
  object["dialogue_state"] = StateToJson(session.dialogue_state);
  json::array turns;
  for (const Turn& turn : session.turns) turns.push_back(TurnToJson(turn));
  object["turns"] = std::move(turns);
  return object;
}

void PrintSummaries(const std::vector<SessionSummary>& sessions) {
  size_t id_width = 2;
  for (const SessionSummary& s : sessions) id_width = std::max(id_width, s.id.size());
  const int width = static_cast<int>(id_width);
  std::printf("%-*s  %-24s  %-24s  %s\n", width, "ID", "CREATED", "UPDATED", "TURNS");
  for (const SessionSummary& s : sessions) {
    std::printf("%-*s  %-24s  %-24s  %" PRId64 "\n", width, s.id.c_str(),
                FormatTimestamp(s.created_at_ms).c_str(), FormatTimestamp(s.updated_at_ms).c_str(),
                s.turn_count);
  }
}

void PrintSession(const Session& session) {
  const SessionSummary& s = session.summary;
  std::printf("session  %s\n", s.id.c_str());
  std::printf("created  %s\n", FormatTimestamp(s.created_at_ms).c_str());
  std::printf("updated  %s\n", FormatTimestamp(s.updated_at_ms).c_str());
  std::printf("turns    %" PRId64 "\n", s.turn_count);
  std::printf("state    %s\n",
              session.dialogue_state.empty() ? "-" : session.dialogue_state.c_str());
  for (const Turn& t : session.turns) {
    std::printf("\nturn %" PRId64 "  %s  (%" PRId64 " ms, %s %s)\n", t.number,
                FormatTimestamp(t.received_at_ms).c_str(), t.replied_at_ms - t.received_at_ms,
                t.model.c_str(), t.model_version.c_str());
    std::printf("  user:   %s\n", t.user_text.c_str());
    std::printf("  intent: %s %.4f%s\n", t.intent.c_str(), t.confidence,
                t.out_of_scope ? " (out of scope)" : "");
    std::printf("  bot:    %s\n", t.reply.c_str());
  }
}

// stdout may be a full disk or a closed pipe: say so instead of exiting 0.
int FinishStdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "chatbot: error: writing to standard output failed\n");
    return kExitFailure;
  }
  return kExitOk;
}

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

int RunSessionsList(const GlobalOptions& global, const SessionsArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const auto store = OpenExisting(config.settings());
  std::vector<SessionSummary> sessions;
  if (store != nullptr) {
    sessions = store->ListSessions(
        args.limit, args.has_before ? std::optional<int64_t>(args.before_ms) : std::nullopt);
  }
  if (args.json) {
    for (const SessionSummary& s : sessions) {
      std::printf("%s\n", json::serialize(SummaryToJson(s)).c_str());
    }
  } else if (sessions.empty()) {
    std::printf("No sessions.\n");
  } else {
    PrintSummaries(sessions);
    if (static_cast<int>(sessions.size()) == args.limit) {
      // The cursor for the next page, which the table's times are too coarse
      // to give.
      std::printf("(more may follow: --before %" PRId64 ")\n", sessions.back().created_at_ms);
    }
  }
  return FinishStdout();
}

int RunSessionsShow(const GlobalOptions& global, const SessionsArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const auto store = OpenExisting(config.settings());
  std::optional<Session> session;
  if (store != nullptr) session = store->GetSession(args.id, /*with_turns=*/true);
  if (!session) {
    std::fprintf(stderr, "chatbot: no session %s\n", args.id.c_str());
    return kExitFailure;
  }
  if (args.json) {
    std::printf("%s\n", json::serialize(SessionToJson(*session)).c_str());
  } else {
    PrintSession(*session);
  }
  return FinishStdout();
}

int RunSessionsExport(const GlobalOptions& global, const SessionsArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const auto store = OpenExisting(config.settings());
  const bool to_file = !args.output.empty();
  // A file is written whole and atomically, so it is held in memory; stdout
  // streams one session at a time.
  std::string contents;
  int64_t count = 0;
  if (store != nullptr) {
    store->ForEachSession([&](const Session& session) {
      std::string line = json::serialize(SessionToJson(session));
      line += '\n';
      if (to_file) {
        contents += line;
      } else {
        std::fwrite(line.data(), 1, line.size(), stdout);
      }
      ++count;
    });
  }
  if (!to_file) return FinishStdout();
  WriteFileAtomically(args.output, contents);
  std::fprintf(stderr, "Exported %" PRId64 " sessions to %s.\n", count, args.output.c_str());
  return kExitOk;
}

int RunSessionsClean(const GlobalOptions& global, const SessionsArgs& args) {
  // Bad arguments are reported before anything is loaded or opened.
  int64_t idle_ms = 0;
  std::string idle_text;
  if (args.has_older_than) {
    std::string error;
    const std::optional<int64_t> parsed = ParseDurationMs(args.older_than, false, &error);
    if (!parsed) {
      std::fprintf(stderr, "chatbot: --older-than: %s\n", error.c_str());
      return kExitUsage;
    }
    idle_ms = *parsed;
    idle_text = args.older_than;
  }
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  if (!args.has_older_than) {
    if (settings.sessions.retention_days <= 0) {
      std::fprintf(stderr,
                   "chatbot: sessions clean: give --older-than DURATION (e.g. 30d), or set "
                   "sessions.retention_days\n");
      return kExitUsage;
    }
    idle_ms = settings.sessions.retention_days * 86400 * 1000;
    idle_text = std::to_string(settings.sessions.retention_days) + "d (sessions.retention_days)";
  }
  StartLogging(config);

  const int64_t cutoff_ms = NowMs() - idle_ms;
  const auto store = OpenExisting(settings);
  if (store == nullptr) {
    std::printf("Deleted 0 sessions: there is no database at %s.\n",
                settings.sessions.path.c_str());
    return FinishStdout();
  }
  const int64_t deleted = store->DeleteSessionsUpdatedBefore(cutoff_ms);
  std::printf("Deleted %" PRId64 " sessions idle for more than %s (last active before %s).\n",
              deleted, idle_text.c_str(), FormatTimestamp(cutoff_ms).c_str());
  AppLog()->info("sessions clean: deleted {} sessions of {} idle for more than {}", deleted,
                 store->path().string(), idle_text);

  if (args.no_vacuum) return FinishStdout();
  const uintmax_t before = DatabaseBytes(store->path());
  store->Vacuum();
  const uintmax_t after = DatabaseBytes(store->path());
  std::printf("Database %s: %ju -> %ju bytes.\n", store->path().c_str(), before, after);
  return FinishStdout();
}

int RunSessionsLabels(const GlobalOptions& global, const SessionsArgs& args) {
  int64_t since_ms = 0;
  if (!args.since.empty()) {
    std::string error;
    const std::optional<int64_t> parsed = ParseDurationMs(args.since, false, &error);
    if (!parsed) {
      std::fprintf(stderr, "chatbot: --since: %s\n", error.c_str());
      return kExitUsage;
    }
    since_ms = NowMs() - *parsed;
  }
  const Configuration config = LoadConfiguration(global);
  const auto store = OpenExisting(config.settings());
  if (store == nullptr) {
    std::fprintf(stderr, "chatbot: no session database at %s: no labels\n",
                 config.settings().sessions.path.c_str());
  }
  size_t written = 0;
  const std::string contents =
      store == nullptr ? std::string()
                       : server::LabelsAsTrainingData(store->ListLabels(since_ms), &written);
  if (args.output.empty()) {
    std::fwrite(contents.data(), 1, contents.size(), stdout);
    return FinishStdout();
  }
  WriteFileAtomically(args.output, contents);
  std::fprintf(stderr, "Wrote %zu labelled examples to %s.\n", written, args.output.c_str());
  return kExitOk;
}

}  // namespace chatbot::cli
