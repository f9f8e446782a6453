// `chatbot sessions list|show|export|clean|labels`: parse, call the store
// (store/session_report.h), print.
#include <boost/json.hpp>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "server/review_api.h"
#include "server/session_json.h"
#include "store/session_report.h"

namespace chatbot::cli {
namespace {

namespace json = boost::json;
using store::Session;
using store::SessionSummary;

std::unique_ptr<store::SqliteSessionStore> OpenExisting(const Settings& settings) {
  return store::OpenExistingSessionStore(settings);
}

// stdout may be a full disk or a closed pipe: say so instead of exiting 0.
int FinishStdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "chatbot: error: writing to standard output failed\n");
    return kExitFailure;
  }
  return kExitOk;
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
      std::printf("%s\n", json::serialize(server::SummaryExportJson(s)).c_str());
    }
  } else if (sessions.empty()) {
    std::printf("No sessions.\n");
  } else {
    std::fputs(store::SessionTable(sessions).c_str(), stdout);
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
    std::printf("%s\n", json::serialize(server::SessionExportJson(*session)).c_str());
  } else {
    std::fputs(store::SessionText(*session).c_str(), stdout);
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
      std::string line = json::serialize(server::SessionExportJson(session));
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
    const std::optional<int64_t> parsed = DurationFlag("--older-than", args.older_than);
    if (!parsed) return kExitUsage;
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
  const store::CleanResult cleaned =
      store::CleanSessions(settings, cutoff_ms, !args.no_vacuum, idle_text);
  if (!cleaned.database) {
    std::printf("Deleted 0 sessions: there is no database at %s.\n",
                settings.sessions.path.c_str());
  } else {
    std::printf("Deleted %" PRId64 " sessions idle for more than %s (last active before %s).\n",
                cleaned.deleted, idle_text.c_str(), FormatTimestamp(cutoff_ms).c_str());
  }
  if (cleaned.database && !args.no_vacuum) {
    std::printf("Database %s: %ju -> %ju bytes.\n", settings.sessions.path.c_str(),
                cleaned.bytes_before, cleaned.bytes_after);
  }
  return FinishStdout();
}

int RunSessionsLabels(const GlobalOptions& global, const SessionsArgs& args) {
  int64_t since_ms = 0;
  if (!args.since.empty()) {
    const std::optional<int64_t> parsed = DurationFlag("--since", args.since);
    if (!parsed) return kExitUsage;
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
