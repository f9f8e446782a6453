// `chatbot chat`: the conversation on the console. Each line is one turn of
// dialogue::ChatService, the use case behind POST /v1/chat, so the console
// gets the same replies, clarifying questions and fallbacks, and the
// conversation is stored as a session (`chatbot sessions show ID`).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "common/logging.h"
#include "dialogue/chat_models.h"
#include "ops/data_lock.h"
#include "store/open_session_store.h"

namespace chatbot::cli {
namespace {

struct ChatArgs {
  std::string session_id;  // empty: a new session
};

int RunChat(const GlobalOptions& global, const ChatArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  TrainDefaultModelIfMissing(config);
  const dialogue::LoadedChatModels loaded =
      dialogue::LoadChatModels(settings, nlu::LoadOptionsFromSettings(settings, /*serving=*/false));
  const nlu::IntentClassifier& model = *loaded.classifier.classifier;
  AppLog()->info("chat: {} model {} loaded from {}", loaded.classifier.kind, model.version(),
                 settings.paths.models);

  // Held while chatting, as by serve: a restore refuses to replace the data.
  const auto data_lock =
      ops::DataLock::AcquireShared(ops::DataLock::PathFor(settings.sessions.path));
  const auto sessions = store::OpenSessionStore(settings);
  dialogue::ChatService chat(sessions.get(), static_cast<int>(settings.nlu.top_k));
  std::string session_id = args.session_id;
  if (!session_id.empty() && !sessions->GetSession(session_id, false)) {
    std::fprintf(stderr, "chatbot: no session %s\n", session_id.c_str());
    return kExitUsage;
  }

  const bool interactive = ::isatty(STDIN_FILENO) == 1;
  if (interactive) {
    std::printf("%s is listening (model %s). Type a message, or Ctrl-D to leave.\n",
                settings.bot.name.c_str(), model.version().c_str());
  }
  std::string line;
  while (true) {
    if (interactive) std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    if (line.size() > static_cast<size_t>(settings.nlu.max_text_length)) {
      std::printf("(That message is too long; please keep it under %lld bytes.)\n",
                  static_cast<long long>(settings.nlu.max_text_length));
      continue;
    }
    const std::optional<dialogue::ChatTurn> turn =
        chat.Reply({session_id, line, "cli", true}, loaded.models());
    if (!turn) {  // deleted by someone else meanwhile
      std::fprintf(stderr, "chatbot: session %s is gone\n", session_id.c_str());
      return kExitFailure;
    }
    session_id = turn->session_id;
    const dialogue::DialogueReply& r = turn->reply;
    std::printf("%s: %s\n   [intent %s, confidence %.2f%s]\n", settings.bot.name.c_str(),
                r.reply.c_str(), r.intent.c_str(), r.confidence,
                r.clarification  ? ", clarification"
                : r.out_of_scope ? ", out of scope"
                                 : "");
  }
  if (interactive) std::printf("\nGoodbye.\n");
  if (!session_id.empty()) std::fprintf(stderr, "Session %s stored.\n", session_id.c_str());
  return kExitOk;
}

}  // namespace

void AddChatCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<ChatArgs>();
  auto* cmd = app.add_subcommand(
      "chat",
      "Talk to the bot on the console, as POST /v1/chat does (trains the default model first "
      "when none exists); the conversation is stored as a session");
  cmd->add_option("--session", args->session_id, "Continue this stored session");
  OnParse(cmd, run, [&global, args] { return RunChat(global, *args); });
}

}  // namespace chatbot::cli
