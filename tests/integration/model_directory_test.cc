// A model directory serves on its own: trained on a data file into a
// models folder of its own, `chatbot serve --models DIR` answers with it
// although [paths] data points nowhere, the replies of the data it learned
// from included; data without replies answers chat with the fallback. Intent
// names as people write them ("is it open?", "Café Crème", quotes and
// backslashes) pass through training, /v1/parse, evaluation and /metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"
#include "temp_dir.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

const fs::path kMessy = fs::path(CHATBOT_SOURCE_DIR) / "tests/data/training/messy";

ProcessResult Chatbot(const fs::path& cwd, const std::vector<std::string>& args) {
  ProcessOptions options;
  options.program = CHATBOT_BINARY;
  options.args = args;
  options.working_directory = cwd;
  return RunProcess(options);
}

// Serves DIR/model with [paths] data pointing at a folder that does not exist.
ServerOptions ServeAlone(const fs::path& dir) {
  ServerOptions options;
  options.dir = dir;
  options.extra_args = {"--set", "paths.data=" + (dir / "no-such-data").string()};
  return options;
}

TEST(ModelDirectoryTest, ServesWithoutTheDataAndAnswersChatWithTheFallback) {
  TempDir work("model-directory");
  const ProcessResult train = Chatbot(
      work.path(), {"--models", "model", "train", "--data", (kMessy / "messy.jsonl").string()});
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  // Every problem of the data is counted, with its line.
  EXPECT_THAT(train.err, HasSubstr("1 duplicate example(s) dropped: "));
  EXPECT_THAT(train.err, HasSubstr("messy.jsonl:3"));
  EXPECT_THAT(train.err, HasSubstr("1 intent(s) with a single example"));
  EXPECT_TRUE(fs::exists(work.path() / "model" / "svm" / "domain.json"));

  ServerProcess server(ServeAlone(work.path()));
  server.Start();
  HttpClient http(server.port());
  const HttpResult health = http.Get("/health");
  EXPECT_EQ(health.status, 200) << health.body << server.Describe();

  const HttpResult parse = http.Post("/v1/parse", json::object{{"text", "one coffee please"}});
  ASSERT_EQ(parse.status, 200) << parse.body;
  EXPECT_EQ(parse.Json().at("intent").as_string(), "Café Crème") << parse.body;

  // No replies in JSON Lines: chat answers with the fallback.
  const HttpResult chat = http.Post("/v1/chat", json::object{{"message", "one coffee please"}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_FALSE(chat.Json().at("reply").as_string().empty()) << chat.body;

  // The odd names reach /metrics escaped as the text format wants them.
  http.Post("/v1/parse", json::object{{"text", "say hi there"}});
  std::string key = ReadFileToString(work.path() / "data" / "security" / "admin.key");
  while (!key.empty() && key.back() == '\n') key.pop_back();
  const HttpResult metrics = http.Get("/metrics", {{"Authorization", "Bearer " + key}});
  EXPECT_THAT(metrics.body, HasSubstr("intent=\"say \\\"hi\\\", \\\\o/\""));
  // Too few examples to hold any out: no held-out accuracy to export.
  EXPECT_THAT(metrics.body, ::testing::Not(HasSubstr("chatbot_model_heldout_accuracy{")));
  EXPECT_THAT(metrics.body, HasSubstr("chatbot_model_live_accuracy_samples 0"));
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();

  // evaluate and predict print the names as they are.
  const ProcessResult evaluate = Chatbot(
      work.path(), {"--models", "model", "evaluate", "--data", (kMessy / "messy.csv").string()});
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.err;
  EXPECT_THAT(evaluate.out, HasSubstr("Threshold cost"));
  EXPECT_THAT(evaluate.out, HasSubstr("is it open?"));
}

TEST(ModelDirectoryTest, CarriesTheRepliesOfItsData) {
  TempDir work("model-directory");
  const ProcessResult train = Chatbot(
      work.path(), {"--models", "model", "train", "--data", (kMessy / "messy.yml").string()});
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  ServerProcess server(ServeAlone(work.path()));
  server.Start();
  HttpClient http(server.port());
  const HttpResult chat = http.Post("/v1/chat", json::object{{"message", "are you open today"}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.Json().at("reply").as_string(), "We are open from 9 to 5.") << chat.body;
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();
}

TEST(ModelDirectoryTest, AMissingReplyFileIsNamed) {
  TempDir work("model-directory");
  const ProcessResult train = Chatbot(
      work.path(), {"--models", "model", "train", "--data", (kMessy / "messy.jsonl").string()});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  fs::remove(work.path() / "model" / "svm" / "domain.json");
  ServerProcess server(ServeAlone(work.path()));
  server.Start();
  HttpClient http(server.port());
  EXPECT_EQ(http.Get("/health").status, 503);
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();
  // The model names the file that is gone, not the data folder it never needed.
  EXPECT_THAT(server.Stderr(), HasSubstr("svm: missing file domain.json")) << server.Describe();
}

}  // namespace
}  // namespace chatbot::testing
