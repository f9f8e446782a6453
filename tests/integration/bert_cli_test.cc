// The BERT model through the real binary: `train --model bert` from scratch
// (progress on the console, logs/training.log, model/bert/), `predict` and
// `evaluate --model svm|bert|ensemble`, `import-bert` of the fixture
// checkpoint and its refusals, and `serve` answering with the ensemble.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

const fs::path kSourceDir = CHATBOT_SOURCE_DIR;
const fs::path kFixture = kSourceDir / "../shared/fixtures/bert-tiny";
const std::string kData = (kSourceDir / "tests/data/training/good").string();

ProcessResult Chatbot(const fs::path& cwd, const std::vector<std::string>& args) {
  ProcessOptions options;
  options.program = CHATBOT_BINARY;
  options.args = args;
  options.working_directory = cwd;
  return RunProcess(options);
}

// Small, fast training settings for the test data.
std::vector<std::string> Fast(std::vector<std::string> args) {
  std::vector<std::string> out = {"--set", "paths.data=" + kData,  "--set", "bert.epochs=8",
                                  "--set", "bert.vocab_size=1000", "--set", "bert.threads=1"};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

class BertCliTest : public ::testing::Test {
 protected:
  TempDir work_{"chatbot-bert-cli"};
};

TEST_F(BertCliTest, TrainsFromScratchShowsProgressAndLogsTheRun) {
  const ProcessResult train =
      Chatbot(work_.path(), Fast({"train", "--model", "bert", "--size", "tiny"}));
  ASSERT_EQ(train.exit_code, 0) << Describe(train);
  EXPECT_THAT(train.out, HasSubstr("trained bert model"));
  // Not a terminal: one progress line per epoch.
  EXPECT_THAT(train.err, HasSubstr("epoch 1/8"));
  EXPECT_THAT(train.err, HasSubstr("validation accuracy"));
  EXPECT_THAT(train.err, HasSubstr("examples/s"));
  EXPECT_THAT(train.err, HasSubstr("ETA"));
  for (const char* file : {"manifest.json", "config.json", "vocab.txt", "model.safetensors",
                           "labels.json", "heldout.jsonl", "smoke.jsonl"}) {
    EXPECT_TRUE(fs::exists(work_.path() / "model/bert" / file)) << file;
  }
  const std::string log = ReadFileToString(work_.path() / "logs/training.log");
  EXPECT_THAT(log, HasSubstr("training run: model bert"));
  EXPECT_THAT(log, HasSubstr("epoch 1/8"));
  EXPECT_THAT(log, HasSubstr("trained bert model"));

  const json::object manifest =
      json::parse(ReadFileToString(work_.path() / "model/bert/manifest.json")).as_object();
  EXPECT_EQ(manifest.at("format").as_string(), "chatbot-bert");
  EXPECT_TRUE(manifest.at("heldout_metrics").is_object());
  EXPECT_EQ(manifest.at("architecture").as_object().at("layers").as_int64(), 2);

  // Only BERT exists: predict answers with it.
  const ProcessResult predict =
      Chatbot(work_.path(), Fast({"predict", "--json", "where is my order"}));
  ASSERT_EQ(predict.exit_code, 0) << Describe(predict);
  EXPECT_EQ(json::parse(predict.out).as_object().at("model").as_string(), "bert");
}

// Five intents of a toy domain: training and validation files as JSON Lines.
void WriteToyData(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"balance",
       {"what is my balance", "how much money do i have", "show my account balance",
        "balance please", "check my balance", "how much is in my account", "tell me my balance",
        "what's left in my account", "my balance", "account balance now"}},
      {"transfer",
       {"transfer money to savings", "send 50 dollars to john", "move money between accounts",
        "make a transfer", "transfer funds", "send money to my mom", "wire money abroad",
        "pay my friend back", "transfer 20 to bob", "send cash to alice"}},
      {"alarm",
       {"set an alarm for 7am", "wake me up at six", "alarm for tomorrow morning", "set alarm",
        "i need an alarm at 5:30", "wake me at noon", "create an alarm", "alarm in ten minutes",
        "new alarm at 9", "alarm please"}},
      {"weather",
       {"what is the weather like", "will it rain today", "weather in new york",
        "is it sunny tomorrow", "forecast for the weekend", "how cold is it outside",
        "do i need an umbrella", "temperature today", "weather forecast", "is it windy"}},
      {"greeting",
       {"hello", "hi there", "good morning", "hey", "hello bot", "good evening", "hi", "greetings",
        "hey there", "morning"}},
  };
  std::string train, validation;
  for (const auto& [intent, texts] : intents) {
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string line =
          json::serialize(json::object{{"text", texts[i]}, {"intent", intent}});
      (i < 7 ? train : validation) += line + "\n";
    }
  }
  WriteStringToFile(dir / "train.jsonl", train);
  WriteStringToFile(dir / "val.jsonl", validation);
}

TEST_F(BertCliTest, EvaluatesEachModelAndTheEnsemble) {
  WriteToyData(work_.path());
  const std::vector<std::string> data = {"--data", "train.jsonl", "--validation", "val.jsonl"};
  std::vector<std::string> svm_args = {"train"};
  svm_args.insert(svm_args.end(), data.begin(), data.end());
  ASSERT_EQ(Chatbot(work_.path(), Fast(svm_args)).exit_code, 0);
  std::vector<std::string> bert_args = {"train", "--model", "bert", "--size", "tiny"};
  bert_args.insert(bert_args.end(), data.begin(), data.end());
  const ProcessResult train = Chatbot(work_.path(), Fast(bert_args));
  ASSERT_EQ(train.exit_code, 0) << Describe(train);
  // With validation data the ensemble is calibrated at training time.
  EXPECT_THAT(train.out, HasSubstr("ensemble on 15 held-out examples"));
  for (const std::string model : {"svm", "bert", "ensemble"}) {
    const ProcessResult evaluate = Chatbot(
        work_.path(), Fast({"evaluate", "--model", model, "--data", "val.jsonl", "--json"}));
    ASSERT_EQ(evaluate.exit_code, 0) << model << ": " << Describe(evaluate);
    const json::object report = json::parse(evaluate.out).as_object();
    EXPECT_THAT(std::string(report.at("title").as_string()), HasSubstr(model + " model"));
    EXPECT_EQ(report.at("examples").as_int64(), 15) << model;
  }
  const ProcessResult predict =
      Chatbot(work_.path(), Fast({"predict", "--json", "check my balance"}));
  ASSERT_EQ(predict.exit_code, 0) << Describe(predict);
  EXPECT_EQ(json::parse(predict.out).as_object().at("model").as_string(), "ensemble");
}

TEST_F(BertCliTest, ServesTheEnsembleAndSaysWhichModelAnswered) {
  ASSERT_EQ(Chatbot(work_.path(), Fast({"train"})).exit_code, 0);
  ASSERT_EQ(Chatbot(work_.path(), Fast({"train", "--model", "bert", "--size", "tiny"})).exit_code,
            0);
  ServerProcess server(ServerOptions{work_.path(), Fast({}), {}});
  server.Start();
  HttpClient client(server.port());
  const HttpResult health = client.Get("/health");
  ASSERT_EQ(health.status, 200) << health.body;
  const json::object h = json::parse(health.body).as_object();
  EXPECT_EQ(h.at("answering_model").as_string(), "ensemble");
  EXPECT_TRUE(h.at("models").as_object().contains("bert"));
  const HttpResult parse = client.Send("POST", "/v1/parse", R"({"text":"where is my order"})");
  ASSERT_EQ(parse.status, 200) << parse.body;
  EXPECT_EQ(json::parse(parse.body).as_object().at("model").as_string(), "ensemble");
  const HttpResult batch =
      client.Send("POST", "/v1/parse/batch", R"({"texts":["hi","where is my order","bye"]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(json::parse(batch.body).as_object().at("results").as_array().size(), 3u);
}

TEST_F(BertCliTest, ImportsAFineTunedCheckpointUnchanged) {
  if (!fs::exists(kFixture / "model.safetensors")) {
    CHATBOT_SKIP("the BERT fixture is not available at " << kFixture.string());
  }
  const ProcessResult imported =
      Chatbot(work_.path(), {"import-bert", kFixture.string(), "--models", "m"});
  ASSERT_EQ(imported.exit_code, 0) << Describe(imported);
  EXPECT_THAT(imported.out, HasSubstr("imported bert model"));
  EXPECT_THAT(imported.out, HasSubstr("5 labels"));
  const ProcessResult predict =
      Chatbot(work_.path(), {"--models", "m", "predict", "--json", "--top-k", "5", "remind me"});
  ASSERT_EQ(predict.exit_code, 0) << Describe(predict);
  const json::object p = json::parse(predict.out).as_object();
  EXPECT_EQ(p.at("model").as_string(), "bert");
  EXPECT_EQ(p.at("ranking").as_array().size(), 5u);
}

TEST_F(BertCliTest, RefusesBadCheckpointsWithAClearMessage) {
  if (!fs::exists(kFixture / "model.safetensors")) {
    CHATBOT_SKIP("the BERT fixture is not available at " << kFixture.string());
  }
  // Missing directory.
  ProcessResult missing = Chatbot(work_.path(), {"import-bert", "no-such-dir"});
  EXPECT_EQ(missing.exit_code, 1) << Describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("no-such-dir"));
  // An unknown activation.
  const fs::path bad = work_.path() / "bad";
  fs::create_directories(bad);
  for (const auto& entry : fs::directory_iterator(kFixture)) {
    fs::copy_file(entry.path(), bad / entry.path().filename());
  }
  std::string config = ReadFileToString(bad / "config.json");
  config.replace(config.find("\"gelu\""), 6, "\"relu\"");
  fs::permissions(bad / "config.json", fs::perms::owner_write, fs::perm_options::add);
  WriteStringToFile(bad / "config.json", config);
  ProcessResult refused = Chatbot(work_.path(), {"import-bert", bad.string()});
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("relu"));
  EXPECT_FALSE(fs::exists(work_.path() / "model/bert"));
}

}  // namespace
}  // namespace chatbot::testing
