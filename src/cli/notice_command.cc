// `chatbot notice [--json]`, `chatbot notice set TEXT [--until TIME]`,
// `chatbot notice clear` (docs/OPERATIONS.md): the service notice every
// instance shows to users (docs/OPERATIONS.md, "Telling users"), in the
// store the service reads (ops/notice_store.h). A running service shows a
// change within a second.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "cli/commands.h"
#include "common/time.h"
#include "ops/notice_admin.h"
#include "ops/notice_store.h"

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

int RunNoticeShow(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  Print(ops::OpenNoticeStore(config.settings())->Get(), args.json);
  return kExitOk;
}

int RunNoticeSet(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  try {
    Print(ops::SetNoticeFromCommandLine(config.settings(), args.text, args.until, NowMs()),
          args.json);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "chatbot: %s\n", e.what());
    return kExitUsage;
  }
  return kExitOk;
}

int RunNoticeClear(const GlobalOptions& global, const NoticeArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const bool had = ops::ClearNoticeFromCommandLine(config.settings(), NowMs());
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
