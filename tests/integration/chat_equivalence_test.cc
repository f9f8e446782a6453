// `chatbot chat` and POST /v1/chat are two front ends of one use case
// (dialogue/chat_service.h): for the same script of messages, with the same
// model, domain and settings, they give the same replies, clarifying
// questions and fallbacks included, and both store the conversation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

struct Exchange {
  std::string reply;
  std::string intent;
};

// A margin of 1 makes every in-scope message ambiguous, so the script has
// clarifying questions and their answers; the last messages are out of
// scope (fallbacks) and repeats (rotating variants).
const std::vector<std::string> kSettings = {"--set", "dialogue.ambiguity_margin=1.0"};
const std::vector<std::string> kScript = {"where is my order",
                                          "the first one",
                                          "what is the weather on mars today",
                                          "where is my order",
                                          "the second one",
                                          "hello",
                                          "no",
                                          "I want a refund",
                                          "the first one",
                                          "blorp fnord xqzv zzyzx"};

// "Ava: <reply>" then "   [intent <intent>, confidence ...]", per turn.
std::vector<Exchange> ParseConsole(const std::string& out) {
  std::vector<Exchange> exchanges;
  const std::vector<std::string> lines = Lines(out);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i].rfind("Ava: ", 0) != 0) continue;
    const std::string& info = lines[i + 1];
    const size_t begin = info.find("[intent ");
    const size_t end = info.find(',', begin);
    if (begin == std::string::npos || end == std::string::npos) continue;
    exchanges.push_back({lines[i].substr(5), info.substr(begin + 8, end - begin - 8)});
  }
  return exchanges;
}

TEST(ChatEquivalenceTest, ConsoleAndHttpGiveTheSameReplies) {
  const SharedModel& model = SharedTrainedModel();
  ASSERT_TRUE(model.ok) << Describe(model.training);

  // The console, in its own directory.
  TempDir console("chatbot-chat-console");
  InstallSharedModel(console.path());
  std::string input;
  for (const std::string& message : kScript) input += message + "\n";
  ProcessOptions chat;
  chat.program = CHATBOT_BINARY;
  chat.working_directory = console.path();
  chat.args = {"chat", "--set", "paths.data=" + DefaultDomainDir().string()};
  chat.args.insert(chat.args.end(), kSettings.begin(), kSettings.end());
  chat.stdin_data = input;
  const ProcessResult r = RunProcess(chat);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::vector<Exchange> on_console = ParseConsole(r.out);
  ASSERT_EQ(on_console.size(), kScript.size()) << r.out;

  // The HTTP API, in another.
  TempDir http("chatbot-chat-http");
  InstallSharedModel(http.path());
  ServerOptions options;
  options.dir = http.path();
  options.extra_args = kSettings;
  ServerProcess server(options);
  server.Start();
  HttpClient client(server.port());
  std::string session_id;
  int clarifications = 0;
  int fallbacks = 0;
  for (size_t i = 0; i < kScript.size(); ++i) {
    SCOPED_TRACE(kScript[i]);
    json::object body{{"message", kScript[i]}};
    if (!session_id.empty()) body["session_id"] = session_id;
    const HttpResult result = client.Post("/v1/chat", body);
    ASSERT_EQ(result.status, 200) << result.Describe();
    const json::object answer = result.Json().as_object();
    session_id = std::string(answer.at("session_id").as_string());
    if (const json::value* c = answer.if_contains("clarification"); c && c->as_bool()) {
      ++clarifications;
    }
    if (answer.at("out_of_scope").as_bool()) ++fallbacks;
    EXPECT_EQ(on_console[i].reply, std::string(answer.at("reply").as_string()));
    EXPECT_EQ(on_console[i].intent, std::string(answer.at("intent").as_string()));
  }
  // The script exercises what the console used not to do.
  EXPECT_GE(clarifications, 2);
  EXPECT_GE(fallbacks, 1);

  // The console's conversation is stored like the API's.
  EXPECT_THAT(r.err, HasSubstr("Session "));
  ProcessOptions list = chat;
  list.args = {"sessions", "list", "--json"};
  list.stdin_data.clear();
  const ProcessResult sessions = RunProcess(list);
  ASSERT_EQ(sessions.exit_code, 0) << Describe(sessions);
  EXPECT_THAT(sessions.out, HasSubstr("\"turn_count\":" + std::to_string(kScript.size())));
}

}  // namespace
}  // namespace chatbot::testing
