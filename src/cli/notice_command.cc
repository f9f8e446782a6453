// `chatbot notice [--json]`, `chatbot notice set TEXT [--until TIME]`,
// `chatbot notice clear` (docs/OPERATIONS.md): the service notice every
// instance shows to users (docs/OPERATIONS.md, "Telling users"), in the
// store the service reads (ops/notice_store.h). A running service shows a
// change within a second.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "common/time.h"
#include "ops/notice_board.h"
#include "ops/notice_store.h"
#include "security/audit_log.h"

namespace chatbot::cli {
namespace {

struct NoticeArgs {
  std::string text;   // set
  std::string until;  // set: a UTC time or a duration; empty: until cleared
  bool json = false;
};

void Print(const std::optional<ops::ServiceNotice>& notice, bool as_json) {
  if (as_json) {
    std::printf("%s\n", boost::json::serialize(ops::NoticeToJson(notice)).c_str());
  } else {
    std::printf("%s\n", ops::NoticeDescription(notice, NowMs()).c_str());
  }
}

// Changes are audited like the lockdown's (logs/audit.log).
void Audit(const Configuration& config, std::string_view event, const boost::json::object& fields) {
  security::AuditLog(std::filesystem::path(config.settings().paths.logs) / "audit.log")
      .Write(event, security::Actor::CommandLine(), fields, NowMs());
}

int RunNoticeShow(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  Print(ops::OpenNoticeStore(config.settings())->Get(), args.json);
  return kExitOk;
}

int RunNoticeSet(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  if (const std::string problem = ops::NoticeTextProblem(args.text); !problem.empty()) {
    std::fprintf(stderr, "chatbot: %s\n", problem.c_str());
    return kExitUsage;
  }
  const int64_t now = NowMs();
  ops::ServiceNotice notice{.text = args.text,
                            .set_at_ms = now,
                            .set_by = security::Actor::CommandLine().Describe(),
                            .until_ms = std::nullopt};
  if (!args.until.empty()) {
    notice.until_ms = ops::ParseNoticeUntil(args.until, now);
    if (!notice.until_ms) {
      std::fprintf(stderr,
                   "chatbot: --until '%s' is not a future UTC time such as "
                   "2026-12-04T20:00:00Z or a duration such as 30m or 2h\n",
                   args.until.c_str());
      return kExitUsage;
    }
  }
  ops::OpenNoticeStore(config.settings())->Set(notice);
  Audit(config, "notice.set", ops::NoticeToJson(notice).as_object());
  Print(notice, args.json);
  return kExitOk;
}

int RunNoticeClear(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const bool had = ops::OpenNoticeStore(config.settings())->Clear();
  if (had) Audit(config, "notice.clear", {});
  if (args.json) {
    std::printf("%s\n", boost::json::serialize(boost::json::object{{"notice", nullptr}}).c_str());
  } else {
    std::printf("%s\n", had ? "The service notice is cleared." : "No service notice was set.");
  }
  return kExitOk;
}

}  // namespace

void AddNoticeCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  const auto args = std::make_shared<NoticeArgs>();
  auto* notice = app.add_subcommand(
      "notice", "Show, set or clear the service notice users see on every instance");
  notice->add_flag("--json", args->json, "As JSON");
  auto* set = notice->add_subcommand("set", "Show TEXT to users as a banner until cleared");
  set->add_option("text", args->text, "The notice: one paragraph, at most 500 bytes")->required();
  set->add_option("--until", args->until,
                  "Remove it by itself at this UTC time (2026-12-04T20:00:00Z) or after this "
                  "duration (30m, 2h)");
  set->add_flag("--json", args->json, "Print the notice as JSON");
  OnParse(set, run, [&global, args] { return RunNoticeSet(global, *args); });
  auto* clear = notice->add_subcommand("clear", "Remove the notice now");
  clear->add_flag("--json", args->json, "Print the result as JSON");
  OnParse(clear, run, [&global, args] { return RunNoticeClear(global, *args); });
  notice->callback([notice, run, &global, args] {
    if (notice->get_subcommands().empty()) {
      *run = [&global, args] { return RunNoticeShow(global, *args); };
    }
  });
}

}  // namespace chatbot::cli
