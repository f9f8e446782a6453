// Integration tests of the `chatbot` commands that train and use a model:
// train, predict, evaluate, cross-validate, a damaged model and chat. Each
// runs the real binary and checks its exit status, output and the files
// it writes (cli_fixture.h).
#include "cli_fixture.h"

namespace chatbot::testing {
namespace {

// ---------------------------------------------------------------------------
// train

TEST(CliTrainTest, TrainsTheDefaultDomainAndWritesModelAndLogs) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", kDomain});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("trained svm model"));
  EXPECT_THAT(r.out, HasSubstr("saved to model/svm"));

  const fs::path model = work.path() / "model" / "svm";
  for (const char* file : {"model.bin", "manifest.json", "heldout.jsonl", "smoke.jsonl"}) {
    EXPECT_TRUE(fs::is_regular_file(model / file)) << file;
  }
  const json::value manifest = json::parse(ReadFileToString(model / "manifest.json"));
  ASSERT_TRUE(manifest.is_object());
  const json::object& m = manifest.as_object();
  ASSERT_TRUE(m.contains("training_data"));
  EXPECT_GT(m.at("training_data").at("examples").to_number<double>(), 100);
  EXPECT_GT(m.at("training_data").at("intents").to_number<double>(), 5);
  ASSERT_TRUE(m.contains("heldout_metrics"));
  EXPECT_EQ(m.at("heldout_metrics").at("source"), "split");
  ASSERT_TRUE(m.contains("hyperparameters"));

  ASSERT_TRUE(fs::is_regular_file(work.path() / "logs" / "training.log"));
  const std::string log = ReadFileToString(work.path() / "logs" / "training.log");
  // The data summary, with the files read.
  EXPECT_THAT(log, HasSubstr("training run: model svm"));
  EXPECT_THAT(log, HasSubstr("examples"));
  EXPECT_THAT(log, HasSubstr("intents"));
  EXPECT_THAT(log, HasSubstr("smalltalk.yml"));
  EXPECT_THAT(log, HasSubstr("held-out data: 15% stratified split"));
  // The hyper-parameters.
  EXPECT_THAT(log, HasSubstr("hyper-parameters:"));
  EXPECT_THAT(log, HasSubstr("\"c\":"));
  EXPECT_THAT(log, HasSubstr("\"char_ngram_max\":"));
  EXPECT_THAT(log, HasSubstr("\"seed\":42"));
  // The held-out metrics.
  EXPECT_THAT(log, HasSubstr("held-out ("));
  EXPECT_THAT(log, HasSubstr("in-scope accuracy"));
  EXPECT_THAT(log, HasSubstr("macro-F1"));
  EXPECT_TRUE(fs::is_regular_file(work.path() / "logs" / "app.log"));
  EXPECT_THAT(ReadFileToString(work.path() / "logs" / "app.log"), HasSubstr("trained svm model"));
}

TEST(CliTrainTest, ModelsFlagPutsTheModelInDirSvm) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"--models", "custom", "train", "--data", kDomain});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("saved to custom/svm"));
  for (const char* file : {"model.bin", "manifest.json", "heldout.jsonl", "smoke.jsonl"}) {
    EXPECT_TRUE(fs::is_regular_file(work.path() / "custom" / "svm" / file)) << file;
  }
  EXPECT_FALSE(fs::exists(work.path() / "model"));

  // The flag works after the subcommand too, and predict finds the model there.
  const ProcessResult p = Chatbot(work.path(), {"predict", "--models", "custom", "hello there"});
  ASSERT_EQ(p.exit_code, kExitOk) << Describe(p);
  EXPECT_EQ(Split(p.out, '\t')[0], "greeting");
}

TEST(CliTrainTest, ValidationFileIsUsedForTheHeldOutMetrics) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "val.jsonl",
                    "{\"text\": \"hello there\", \"intent\": \"greeting\"}\n"
                    "{\"text\": \"where is my parcel\", \"intent\": \"order_status\"}\n"
                    "{\"text\": \"bye for now\", \"intent\": \"goodbye\"}\n");
  const ProcessResult r =
      Chatbot(work.path(), {"train", "--data", kDomain, "--validation", "val.jsonl"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("held-out (3 examples)"));
  EXPECT_THAT(ReadFileToString(work.path() / "logs" / "training.log"),
              HasSubstr("held-out data: val.jsonl (3 examples)"));
  const json::value manifest =
      json::parse(ReadFileToString(work.path() / "model" / "svm" / "manifest.json"));
  EXPECT_EQ(manifest.at("heldout_metrics").at("source"), "val.jsonl");
}

TEST(CliTrainTest, UnknownModelKindIsAUsageError) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"train", "--model", "gpt", "--data", kDomain});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("gpt"));
  EXPECT_FALSE(fs::exists(work.path() / "model"));
}

// ---------------------------------------------------------------------------
// predict

class CliPredictTest : public CliWithModelTest {};

TEST_F(CliPredictTest, HelloThereIsAGreeting) {
  InstallModel();
  const ProcessResult r = Chatbot(work_.path(), {"predict", "hello there"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const std::vector<std::string> fields = Split(lines[0], '\t');
  ASSERT_GE(fields.size(), 3u) << lines[0];
  EXPECT_EQ(fields[0], "greeting");
  const double confidence = std::stod(fields[1]);
  EXPECT_GT(confidence, 0.5);
  EXPECT_LE(confidence, 1.0);
}

TEST_F(CliPredictTest, JsonWithOneObjectPerStdinLine) {
  InstallModel();
  const std::vector<std::string> texts = {"hi", "where is my order", "what is the meaning of life"};
  const ProcessResult r = Chatbot(work_.path(), {"predict", "--json"}, {},
                                  texts[0] + "\n" + texts[1] + "\n" + texts[2] + "\n");
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    boost::system::error_code error;
    const json::value v = json::parse(lines[i], error);
    ASSERT_FALSE(error) << error.message();
    ASSERT_TRUE(v.is_object());
    const json::object& o = v.as_object();
    for (const char* key : {"text", "intent", "confidence", "out_of_scope", "ranking"}) {
      EXPECT_TRUE(o.contains(key)) << key;
    }
    EXPECT_EQ(o.at("text"), texts[i].c_str());
    ASSERT_TRUE(o.at("intent").is_string());
    ASSERT_TRUE(o.at("out_of_scope").is_bool());
    const double confidence = o.at("confidence").to_number<double>();
    EXPECT_GE(confidence, 0.0);
    EXPECT_LE(confidence, 1.0);
    ASSERT_TRUE(o.at("ranking").is_array());
    const json::array& ranking = o.at("ranking").as_array();
    EXPECT_EQ(ranking.size(), 5u);  // [nlu] top_k
    double previous = 2;
    for (const json::value& entry : ranking) {
      ASSERT_TRUE(entry.at("intent").is_string());
      const double c = entry.at("confidence").to_number<double>();
      EXPECT_LE(c, previous) << "ranking not sorted by confidence";
      previous = c;
    }
    if (!o.at("out_of_scope").as_bool() && !ranking.empty()) {
      EXPECT_EQ(ranking[0].at("intent"), o.at("intent"));
    }
  }
  EXPECT_EQ(json::parse(lines[0]).at("intent"), "greeting");
  EXPECT_EQ(json::parse(lines[1]).at("intent"), "order_status");
}

TEST_F(CliPredictTest, TopKSetsTheRankingLength) {
  InstallModel();
  const ProcessResult r = Chatbot(work_.path(), {"predict", "--json", "--top-k", "2", "hi"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(json::parse(r.out).at("ranking").as_array().size(), 2u);

  const ProcessResult from_config =
      Chatbot(work_.path(), {"predict", "--json", "hi"}, {{"CHATBOT_NLU_TOP_K", "3"}});
  ASSERT_EQ(from_config.exit_code, kExitOk) << Describe(from_config);
  EXPECT_EQ(json::parse(from_config.out).at("ranking").as_array().size(), 3u);

  // The flag wins over the configuration.
  const ProcessResult both = Chatbot(work_.path(), {"predict", "--json", "--top-k", "1", "hi"},
                                     {{"CHATBOT_NLU_TOP_K", "3"}});
  ASSERT_EQ(both.exit_code, kExitOk) << Describe(both);
  EXPECT_EQ(json::parse(both.out).at("ranking").as_array().size(), 1u);
}

TEST_F(CliPredictTest, TopKOutOfRangeIsRefused) {
  InstallModel();
  const ProcessResult r = Chatbot(work_.path(), {"predict", "--top-k", "0", "hi"});
  EXPECT_NE(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--top-k"));
  EXPECT_EQ(r.out, "");
}

TEST_F(CliPredictTest, WithoutAModelExitsOneNamingTheModelDirectory) {
  // No InstallModel().
  const ProcessResult r = Chatbot(work_.path(), {"predict", "hi"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("model/svm"));
  EXPECT_EQ(r.out, "");

  const ProcessResult elsewhere = Chatbot(work_.path(), {"--models", "elsewhere", "predict", "hi"});
  EXPECT_EQ(elsewhere.exit_code, kExitFailure) << Describe(elsewhere);
  EXPECT_THAT(elsewhere.err, HasSubstr("elsewhere/svm"));
}

TEST_F(CliPredictTest, CarriageReturnsAreStrippedFromStdinLines) {
  InstallModel();
  const ProcessResult r =
      Chatbot(work_.path(), {"predict", "--json"}, {}, "hello there\r\nbye\r\n");
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(json::parse(lines[0]).at("text"), "hello there");
  EXPECT_EQ(json::parse(lines[1]).at("text"), "bye");
}

TEST_F(CliPredictTest, TooLongTextIsRefusedAndTheOthersAnswered) {
  InstallModel();
  const ProcessResult r =
      Chatbot(work_.path(), {"--set", "nlu.max_text_length=5", "predict", "hello there", "hi"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("argument 1"));
  EXPECT_THAT(r.err, HasSubstr("max_text_length"));
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(Split(lines[0], '\t')[0], "greeting");
}

TEST_F(CliPredictTest, JsonOutputStaysValidJsonForInvalidUtf8Input) {
  InstallModel();
  const ProcessResult r = Chatbot(work_.path(), {"predict", "--json"}, {}, "caf\xff\nhi\n");
  const std::vector<std::string> lines = Lines(r.out);
  for (const std::string& line : lines) {
    boost::system::error_code error;
    json::parse(line, error);
    EXPECT_FALSE(error) << "not JSON: " << line;
  }
  EXPECT_THAT(r.out, HasSubstr("\"greeting\""));
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("stdin line 1: invalid UTF-8"));
}

// ---------------------------------------------------------------------------
// evaluate

class CliEvaluateTest : public CliWithModelTest {};

TEST_F(CliEvaluateTest, JsonReportHasTheMetrics) {
  InstallModel();
  const ProcessResult r = Chatbot(work_.path(), {"evaluate", "--data", kDomain, "--json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  boost::system::error_code error;
  const json::value v = json::parse(r.out, error);
  ASSERT_FALSE(error) << error.message() << "\n" << r.out;
  ASSERT_TRUE(v.is_object());
  const json::object& o = v.as_object();
  for (const char* key :
       {"accuracy", "in_scope_accuracy", "oos_recall", "macro_f1", "per_intent", "latency_us"}) {
    ASSERT_TRUE(o.contains(key)) << key;
  }
  for (const char* key : {"accuracy", "in_scope_accuracy", "oos_recall", "macro_f1"}) {
    const double value = o.at(key).to_number<double>();
    EXPECT_GE(value, 0.0) << key;
    EXPECT_LE(value, 1.0) << key;
  }
  // Scored on its own training data, the model must do well.
  EXPECT_GT(o.at("accuracy").to_number<double>(), 0.9);
  ASSERT_TRUE(o.at("per_intent").is_array());
  const json::array& per_intent = o.at("per_intent").as_array();
  EXPECT_GT(per_intent.size(), 5u);
  bool greeting = false;
  for (const json::value& entry : per_intent) {
    for (const char* key : {"intent", "precision", "recall", "f1", "support"}) {
      EXPECT_TRUE(entry.as_object().contains(key)) << key;
    }
    greeting = greeting || entry.at("intent") == "greeting";
  }
  EXPECT_TRUE(greeting);
  ASSERT_TRUE(o.at("latency_us").is_object());
  EXPECT_GT(o.at("latency_us").at("p50").to_number<double>(), 0.0);
}

TEST_F(CliEvaluateTest, HtmlReportIsWritten) {
  InstallModel();
  const ProcessResult r =
      Chatbot(work_.path(), {"evaluate", "--data", kDomain, "--report", "out.html"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("svm model"));
  EXPECT_THAT(r.err, HasSubstr("out.html"));
  ASSERT_TRUE(fs::is_regular_file(work_.path() / "out.html"));
  const std::string html = ReadFileToString(work_.path() / "out.html");
  EXPECT_THAT(html, HasSubstr("<table"));
  EXPECT_THAT(html, HasSubstr("greeting"));
}

TEST_F(CliEvaluateTest, WithoutAModelExitsOne) {
  const ProcessResult r = Chatbot(work_.path(), {"evaluate", "--data", kDomain});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("model/svm"));
}

TEST(CliCrossValidationTest, ThreeFoldsRunWithoutASavedModel) {
  TempDir work("chatbot-cli");
  const ProcessResult r =
      Chatbot(work.path(), {"evaluate", "--data", kDomain, "--cross-validation", "3"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("3-fold cross-validation"));
  EXPECT_THAT(r.out, HasSubstr("Accuracy"));
  EXPECT_FALSE(fs::exists(work.path() / "model"));  // nothing saved
}

TEST(CliCrossValidationTest, FoldCountOutOfRangeIsRefused) {
  TempDir work("chatbot-cli");
  const ProcessResult r =
      Chatbot(work.path(), {"evaluate", "--data", kDomain, "--cross-validation", "1"});
  EXPECT_NE(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--cross-validation"));
}

TEST(CliCrossValidationTest, ProgressReachesTheLastFold) {
  TempDir work("chatbot-cli");
  const ProcessResult r =
      Chatbot(work.path(), {"evaluate", "--data", kDomain, "--cross-validation", "3"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("3/3"));
}

// ---------------------------------------------------------------------------
// A damaged model

class CliModelDamageTest : public CliWithModelTest {};

TEST_F(CliModelDamageTest, FlippedByteIsDetectedAndRetrainingRepairs) {
  InstallModel();
  const fs::path model_bin = work_.path() / "model" / "svm" / "model.bin";
  FlipByte(model_bin, fs::file_size(model_bin) / 2);
  const ProcessResult damaged = Chatbot(work_.path(), {"predict", "hi"});
  EXPECT_EQ(damaged.exit_code, kExitFailure) << Describe(damaged);
  EXPECT_THAT(damaged.err, HasSubstr("checksum"));
  EXPECT_THAT(damaged.err, HasSubstr("model.bin"));
  EXPECT_EQ(damaged.out, "");
  EXPECT_THAT(ReadFileToString(work_.path() / "logs" / "app.log"), HasSubstr("checksum"));

  const ProcessResult train = Chatbot(work_.path(), {"train", "--data", kDomain});
  ASSERT_EQ(train.exit_code, kExitOk) << Describe(train);
  const ProcessResult repaired = Chatbot(work_.path(), {"predict", "hi"});
  ASSERT_EQ(repaired.exit_code, kExitOk) << Describe(repaired);
  EXPECT_EQ(Split(repaired.out, '\t')[0], "greeting");
}

TEST_F(CliModelDamageTest, TruncatedOrMissingFilesAreDetected) {
  InstallModel();
  const fs::path dir = work_.path() / "model" / "svm";
  fs::resize_file(dir / "model.bin", fs::file_size(dir / "model.bin") - 1);
  const ProcessResult truncated = Chatbot(work_.path(), {"predict", "hi"});
  EXPECT_EQ(truncated.exit_code, kExitFailure) << Describe(truncated);
  EXPECT_THAT(truncated.err, HasSubstr("model.bin"));

  fs::remove(dir / "model.bin");
  const ProcessResult missing = Chatbot(work_.path(), {"predict", "hi"});
  EXPECT_EQ(missing.exit_code, kExitFailure) << Describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("model.bin"));

  WriteStringToFile(dir / "manifest.json", "{not json");
  const ProcessResult manifest = Chatbot(work_.path(), {"predict", "hi"});
  EXPECT_EQ(manifest.exit_code, kExitFailure) << Describe(manifest);
  EXPECT_THAT(manifest.err, HasSubstr("manifest.json"));
}

TEST_F(CliModelDamageTest, FailedTrainingKeepsThePreviousModel) {
  InstallModel();
  const fs::path manifest = work_.path() / "model" / "svm" / "manifest.json";
  const std::string before = ReadFileToString(manifest);
  WriteStringToFile(work_.path() / "one.yml",
                    "version: 1\nintents:\n  - intent: lonely\n    examples: [only one]\n");
  const ProcessResult train = Chatbot(work_.path(), {"train", "--data", "one.yml"});
  EXPECT_EQ(train.exit_code, kExitUsage) << Describe(train);
  EXPECT_EQ(ReadFileToString(manifest), before);
  const ProcessResult predict = Chatbot(work_.path(), {"predict", "hello there"});
  ASSERT_EQ(predict.exit_code, kExitOk) << Describe(predict);
  EXPECT_EQ(Split(predict.out, '\t')[0], "greeting");
}

// ---------------------------------------------------------------------------
// chat

// The lines of a chat transcript that are the bot's replies.
std::vector<std::string> Replies(const std::string& out, const std::string& prefix) {
  std::vector<std::string> replies;
  for (const std::string& line : Lines(out)) {
    if (line.rfind(prefix, 0) == 0) replies.push_back(line);
  }
  return replies;
}

TEST(CliChatFirstRunTest, TrainsWhenThereIsNoModelThenReplies) {
  // No model: chat trains on [paths] data first.
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"chat", "--set", "paths.data=" + kDomain}, {},
                                  "hello\nwhere is my order\n");
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("No model in model/svm"));
  EXPECT_THAT(r.err, HasSubstr("training one on " + kDomain));
  EXPECT_TRUE(fs::exists(work.path() / "model" / "svm" / "manifest.json"));

  const std::vector<std::string> replies = Replies(r.out, "Ava: ");
  ASSERT_EQ(replies.size(), 2u) << r.out;
  for (const std::string& reply : replies) {
    EXPECT_FALSE(ContainsTemplateVariable(reply)) << reply;
    EXPECT_GT(reply.size(), std::string("Ava: ").size() + 5) << reply;
  }
  EXPECT_THAT(r.out, HasSubstr("[intent greeting"));
  EXPECT_THAT(r.out, HasSubstr("[intent order_status"));
}

class CliChatTest : public CliWithModelTest {};

TEST_F(CliChatTest, BotNameFlagChangesThePrefix) {
  InstallModel();
  const ProcessResult r =
      Chatbot(work_.path(), {"chat", "--set", "paths.data=" + kDomain, "--set", "bot.name=Max"}, {},
              "hello\n\n   \nwhere is my order\n");
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, Not(HasSubstr("No model")));  // the installed one is used
  const std::vector<std::string> replies = Replies(r.out, "Max: ");
  ASSERT_EQ(replies.size(), 2u) << r.out;  // blank lines get no reply
  for (const std::string& reply : replies) {
    EXPECT_FALSE(ContainsTemplateVariable(reply)) << reply;
  }
  EXPECT_TRUE(Replies(r.out, "Ava: ").empty()) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("Ava")));
}

TEST_F(CliChatTest, EveryReplyOfTheDomainHasItsVariablesFilled) {
  InstallModel();
  // One query per intent of the default domain would be brittle; instead ask
  // about the topics whose replies use the variables ({support_email},
  // {support_phone}, {opening_hours}, {returns_days}, {bot_name}).
  const std::string queries =
      "hello\nwhat is your name\nhow can I contact you\nwhat are your opening hours\n"
      "how long do I have to return an item\nI want to talk to a human\n"
      "what is your phone number\n";
  const ProcessResult r =
      Chatbot(work_.path(), {"chat", "--set", "paths.data=" + kDomain}, {}, queries);
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> replies = Replies(r.out, "Ava: ");
  EXPECT_EQ(replies.size(), 7u) << r.out;
  for (const std::string& reply : replies) {
    EXPECT_FALSE(ContainsTemplateVariable(reply)) << reply;
  }
}

}  // namespace
}  // namespace chatbot::testing
