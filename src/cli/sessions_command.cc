// `chatbot sessions list|show|export|clean|labels`: parse, call the store
// (store/session_report.h), print.
#include <CLI/CLI.hpp>
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

// Reading commands never create the database: a missing one has no sessions.
struct SessionsArgs {
  int limit = 20;               // list: rows printed
  int64_t before_ms = 0;        // list: only sessions created strictly before...
  bool has_before = false;      // ...when --before was given
  bool json = false;            // list, show: JSON instead of text
  std::string id;               // show
  std::string output;           // export, labels: file written atomically; empty: stdout
  std::string since;            // labels: "7d"...; empty: every label
  std::string older_than;       // clean: "30d", "12h"...
  bool has_older_than = false;  // clean: without it, sessions.retention_days
  bool no_vacuum = false;       // clean: leave the freed pages in the file
};

namespace json = boost::json;
using store::Session;
using store::SessionSummary;

// stdout may be a full disk or a closed pipe: say so instead of exiting 0.
int FinishStdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "chatbot: error: writing to standard output failed\n");
    return kExitFailure;
  }
  return kExitOk;
}

int RunSessionsList(const GlobalOptions& global, const SessionsArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const auto store = store::OpenExistingSessionStore(config.settings());
  std::vector<SessionSummary> sessions;
  if (store != nullptr) {
    sessions = store->ListSessions(
        args.limit, args.has_before ? std::optional<int64_t>(args.before_ms) : std::nullopt);
  }
  if (args.json) {
    for (const SessionSummary& s : sessions) {
      std::printf("%s\n", json::serialize(server::SummaryExportJson(s)).c_str());
    }
  } else {
    std::fputs(store::SessionTable(sessions, static_cast<size_t>(args.limit)).c_str(), stdout);
  }
  return FinishStdout();
}

int RunSessionsShow(const GlobalOptions& global, const SessionsArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const auto store = store::OpenExistingSessionStore(config.settings());
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
  const auto store = store::OpenExistingSessionStore(config.settings());
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
  const std::optional<int64_t> idle_ms =
      args.has_older_than ? std::optional<int64_t>(DurationFlag("--older-than", args.older_than))
                          : std::nullopt;
  const Configuration config = LoadConfiguration(global);
  const Settings& settings = config.settings();
  StartLogging(config);
  const store::CleanResult cleaned =
      store::CleanSessions(settings, idle_ms, args.older_than, !args.no_vacuum, NowMs());
  std::fputs(store::CleanText(cleaned, settings.sessions.path, !args.no_vacuum).c_str(), stdout);
  return FinishStdout();
}

int RunSessionsLabels(const GlobalOptions& global, const SessionsArgs& args) {
  const int64_t since_ms = args.since.empty() ? 0 : NowMs() - DurationFlag("--since", args.since);
  const Configuration config = LoadConfiguration(global);
  const auto store = store::OpenExistingSessionStore(config.settings());
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

}  // namespace

void AddSessionsCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<SessionsArgs>();
  auto* sessions =
      app.add_subcommand("sessions", "Inspect, export and clean the stored conversations");
  sessions->require_subcommand(1);
  auto* list = sessions->add_subcommand("list", "List sessions, newest first");
  list->add_option("--limit", args->limit, "Sessions shown")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  list->add_option("--before", args->before_ms,
                   "Only sessions created before this Unix time in milliseconds "
                   "(pages: pass the last one's creation time)");
  list->add_flag("--json", args->json, "One JSON object per line");
  OnParse(list, run, [&global, args, list] {
    args->has_before = list->count("--before") > 0;
    return RunSessionsList(global, *args);
  });
  auto* show = sessions->add_subcommand("show", "Print a session and its turns");
  show->add_option("id", args->id, "Session id")->required();
  show->add_flag("--json", args->json, "As one JSON object");
  OnParse(show, run, [&global, args] { return RunSessionsShow(global, *args); });
  auto* exp = sessions->add_subcommand(
      "export", "Write every session with its turns as JSON Lines, oldest first");
  exp->add_option("--output", args->output, "File to write atomically (default: stdout)");
  OnParse(exp, run, [&global, args] { return RunSessionsExport(global, *args); });
  auto* labels = sessions->add_subcommand(
      "labels", "Write the review's labels as JSON Lines training data (as GET /v1/review/export)");
  labels->add_option("--output", args->output, "File to write atomically (default: stdout)");
  labels->add_option("--since", args->since,
                     "Only labels made in this recent time: N followed by s, m, h, d "
                     "or w, e.g. 7d (default: all)");
  OnParse(labels, run, [&global, args] { return RunSessionsLabels(global, *args); });
  auto* clean = sessions->add_subcommand(
      "clean", "Delete sessions idle for longer than a duration, then reclaim the space");
  clean->add_option("--older-than", args->older_than,
                    "Idle time: N followed by s, m, h, d or w, e.g. 30d "
                    "(default: sessions.retention_days)");
  clean->add_flag("--no-vacuum", args->no_vacuum,
                  "Do not give the freed space back to the file system (it is reused "
                  "by later sessions)");
  OnParse(clean, run, [&global, args, clean] {
    args->has_older_than = clean->count("--older-than") > 0;
    return RunSessionsClean(global, *args);
  });
}

}  // namespace chatbot::cli
