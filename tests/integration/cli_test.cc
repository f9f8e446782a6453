// Integration tests of the `chatbot` command line: each runs the real binary
// (CHATBOT_BINARY) as a child process in a fresh temporary working directory,
// with every CHATBOT_* variable removed from its environment except those the
// test sets, and checks its exit status, stdout, stderr and the files it
// writes.
//
// Exit statuses (src/cli/command_context.h): 0 ok, 1 the command ran and
// found a problem (model), 2 bad arguments, configuration or data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "process_runner.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSourceDir = CHATBOT_SOURCE_DIR;
const fs::path kBinary = CHATBOT_BINARY;
const std::string kDomain = (kSourceDir / "data" / "domain").string();
const std::vector<std::string> kSections = {
    "paths", "logging",  "bot", "nlu",  "server",   "sessions", "store",      "cluster", "security",
    "tls",   "dialogue", "svm", "bert", "ensemble", "backup",   "monitoring", "web"};

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Runs `chatbot ARGS...` in `cwd`.
ProcessResult Chatbot(const fs::path& cwd, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& environment = {},
                      const std::string& stdin_data = "") {
  ProcessOptions options;
  options.program = kBinary;
  options.args = args;
  options.working_directory = cwd;
  options.environment = environment;
  options.stdin_data = stdin_data;
  return RunProcess(options);
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    fields.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return fields;
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// `chatbot config show` output: "[section]" headers and "key = value  # origin"
// lines.
struct ShownSetting {
  std::string value;
  std::string origin;
};
struct ShownConfig {
  std::vector<std::string> sections;
  std::map<std::string, ShownSetting> settings;  // by "section.key"
  std::string file_line;                         // "# Config file: ..."
};

ShownConfig ParseConfigShow(const std::string& text) {
  ShownConfig shown;
  std::string section;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("# Config file:", 0) == 0) shown.file_line = line;
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      shown.sections.push_back(section);
      continue;
    }
    const size_t equals = line.find(" = ");
    const size_t comment = line.rfind("  # ");
    if (equals == std::string::npos || comment == std::string::npos || comment < equals) {
      ADD_FAILURE() << "unexpected config show line: " << line;
      continue;
    }
    shown.settings[section + "." + line.substr(0, equals)] = {
        line.substr(equals + 3, comment - equals - 3), line.substr(comment + 4)};
  }
  return shown;
}

bool ContainsTemplateVariable(const std::string& text) {
  static const std::regex kVariable(R"(\{[A-Za-z_][A-Za-z0-9_]*\})");
  return std::regex_search(text, kVariable);
}

// Flips every bit of the byte at `offset` of `path`.
void FlipByte(const fs::path& path, size_t offset) {
  std::string contents = ReadFileToString(path);
  ASSERT_LT(offset, contents.size());
  contents[offset] = static_cast<char>(~static_cast<unsigned char>(contents[offset]));
  WriteStringToFile(path, contents);
}

// ---------------------------------------------------------------------------
// A model trained once per test suite (SetUpTestSuite) on the default domain;
// tests that need one copy it into their own working directory, so that none
// can damage another's.

struct SharedModel {
  std::unique_ptr<TempDir> dir;
  ProcessResult training;
  bool ok = false;
  fs::path models() const { return dir->path() / "model"; }
};

std::unique_ptr<SharedModel>& SharedModelSlot() {
  static std::unique_ptr<SharedModel> shared;
  return shared;
}

class CliWithModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& shared = SharedModelSlot();
    if (shared) return;
    shared = std::make_unique<SharedModel>();
    shared->dir = std::make_unique<TempDir>("chatbot-cli-model");
    shared->training = Chatbot(shared->dir->path(), {"train", "--data", kDomain});
    shared->ok = shared->training.exit_code == kExitOk &&
                 fs::exists(shared->models() / "svm" / "manifest.json");
  }
  // The model stays for the other suites of this process; the static's
  // destructor removes it at exit.

  void SetUp() override {
    ASSERT_TRUE(SharedModelSlot()->ok)
        << "training the shared model failed: " << Describe(SharedModelSlot()->training);
  }

  // Copies the shared model to `work_/model` (the default models directory).
  void InstallModel() {
    fs::copy(SharedModelSlot()->models(), work_.path() / "model", fs::copy_options::recursive);
  }

  TempDir work_{"chatbot-cli"};
};

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
// config

TEST(CliConfigTest, ShowListsEverySectionWithDefaults) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "show"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const ShownConfig shown = ParseConfigShow(r.out);
  EXPECT_EQ(shown.sections, kSections);
  EXPECT_EQ(shown.file_line, "# Config file: none (embedded defaults)");
  for (const char* key : {"paths.models", "paths.data", "paths.logs", "logging.level", "bot.name",
                          "nlu.top_k", "nlu.max_text_length", "svm.c", "svm.seed"}) {
    EXPECT_TRUE(shown.settings.count(key)) << key;
  }
  for (const auto& [key, setting] : shown.settings) EXPECT_EQ(setting.origin, "default") << key;
  EXPECT_EQ(shown.settings.at("paths.models").value, "\"model\"");
  EXPECT_EQ(shown.settings.at("bot.name").value, "\"Ava\"");
  EXPECT_EQ(shown.settings.at("nlu.top_k").value, "5");
}

TEST(CliConfigTest, OriginsOfFileEnvironmentAndFlagValues) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "custom.toml",
                    "# test configuration\n[svm]\nseed = 7\n\n[nlu]\ntop_k = 3\n");
  const ProcessResult r =
      Chatbot(work.path(), {"--config", "custom.toml", "config", "show", "--set", "bot.name=Max"},
              {{"CHATBOT_SVM_C", "4"}});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const ShownConfig shown = ParseConfigShow(r.out);
  EXPECT_EQ(shown.file_line, "# Config file: custom.toml");
  EXPECT_EQ(shown.settings.at("svm.seed").value, "7");
  EXPECT_EQ(shown.settings.at("svm.seed").origin, "file custom.toml:3");
  EXPECT_EQ(shown.settings.at("nlu.top_k").origin, "file custom.toml:6");
  EXPECT_EQ(std::stod(shown.settings.at("svm.c").value), 4.0);
  EXPECT_EQ(shown.settings.at("svm.c").origin, "environment CHATBOT_SVM_C");
  EXPECT_EQ(shown.settings.at("bot.name").value, "\"Max\"");
  EXPECT_EQ(shown.settings.at("bot.name").origin, "flag --set bot.name=Max");
  EXPECT_EQ(shown.settings.at("paths.models").origin, "default");
}

TEST(CliConfigTest, FlagWinsOverEnvironmentWhichWinsOverFile) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "custom.toml", "[svm]\nc = 3.5\n");
  const std::vector<std::string> file = {"--config", "custom.toml", "config", "show"};

  const ProcessResult file_only = Chatbot(work.path(), file);
  ASSERT_EQ(file_only.exit_code, kExitOk) << Describe(file_only);
  ShownSetting c = ParseConfigShow(file_only.out).settings.at("svm.c");
  EXPECT_EQ(std::stod(c.value), 3.5);
  EXPECT_EQ(c.origin, "file custom.toml:2");

  const ProcessResult with_env = Chatbot(work.path(), file, {{"CHATBOT_SVM_C", "4"}});
  ASSERT_EQ(with_env.exit_code, kExitOk) << Describe(with_env);
  c = ParseConfigShow(with_env.out).settings.at("svm.c");
  EXPECT_EQ(std::stod(c.value), 4.0);
  EXPECT_EQ(c.origin, "environment CHATBOT_SVM_C");

  std::vector<std::string> with_flag_args = file;
  with_flag_args.insert(with_flag_args.end(), {"--set", "svm.c=2"});
  const ProcessResult with_flag = Chatbot(work.path(), with_flag_args, {{"CHATBOT_SVM_C", "4"}});
  ASSERT_EQ(with_flag.exit_code, kExitOk) << Describe(with_flag);
  c = ParseConfigShow(with_flag.out).settings.at("svm.c");
  EXPECT_EQ(std::stod(c.value), 2.0);
  EXPECT_EQ(c.origin, "flag --set svm.c=2");

  // Of two flags for one key, the later wins.
  std::vector<std::string> two_flags_args = with_flag_args;
  two_flags_args.insert(two_flags_args.end(), {"--set", "svm.c=0.5"});
  const ProcessResult two_flags = Chatbot(work.path(), two_flags_args);
  ASSERT_EQ(two_flags.exit_code, kExitOk) << Describe(two_flags);
  c = ParseConfigShow(two_flags.out).settings.at("svm.c");
  EXPECT_EQ(std::stod(c.value), 0.5);
  EXPECT_EQ(c.origin, "flag --set svm.c=0.5");
}

TEST(CliConfigTest, DedicatedFlagsAreReportedAsFlags) {
  TempDir work("chatbot-cli");
  const ProcessResult r =
      Chatbot(work.path(), {"--models", "elsewhere", "--log-level", "warn", "config", "show"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const ShownConfig shown = ParseConfigShow(r.out);
  EXPECT_EQ(shown.settings.at("paths.models").value, "\"elsewhere\"");
  EXPECT_THAT(shown.settings.at("paths.models").origin, HasSubstr("flag"));
  EXPECT_EQ(shown.settings.at("logging.level").value, "\"warn\"");
  EXPECT_THAT(shown.settings.at("logging.level").origin, HasSubstr("flag"));
}

TEST(CliConfigTest, ConfigVariableSelectsTheFile) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "etc" / "bot.toml", "[bot]\nname = \"Zed\"\n");
  const ProcessResult r =
      Chatbot(work.path(), {"config", "show"}, {{"CHATBOT_CONFIG", "etc/bot.toml"}});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const ShownConfig shown = ParseConfigShow(r.out);
  EXPECT_EQ(shown.settings.at("bot.name").value, "\"Zed\"");
  EXPECT_EQ(shown.settings.at("bot.name").origin, "file etc/bot.toml:2");
}

TEST(CliConfigTest, ShippedConfigFileIsPickedUpAutomatically) {
  TempDir work("chatbot-cli");
  fs::create_directories(work.path() / "config");
  fs::copy_file(kSourceDir / "config" / "chatbot.toml", work.path() / "config" / "chatbot.toml");
  const ProcessResult r = Chatbot(work.path(), {"config", "show"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const ShownConfig shown = ParseConfigShow(r.out);
  EXPECT_EQ(shown.file_line, "# Config file: config/chatbot.toml");
  EXPECT_EQ(shown.sections, kSections);
  for (const char* key : {"paths.models", "paths.data", "logging.level", "bot.name", "nlu.top_k",
                          "svm.c", "svm.seed"}) {
    ASSERT_TRUE(shown.settings.count(key)) << key;
    EXPECT_THAT(shown.settings.at(key).origin, ::testing::StartsWith("file config/chatbot.toml:"))
        << key;
  }
  // A value given elsewhere still wins over it.
  const ProcessResult flag = Chatbot(work.path(), {"config", "show", "--set", "svm.seed=9"});
  ASSERT_EQ(flag.exit_code, kExitOk) << Describe(flag);
  EXPECT_EQ(ParseConfigShow(flag.out).settings.at("svm.seed").origin, "flag --set svm.seed=9");
}

// The shipped file is generated from the setting definitions: the binary's
// template, with every setting.
TEST(CliConfigTest, ShippedConfigFileIsTheTemplateAndSetsEverySetting) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "template"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, ReadFileToString(kSourceDir / "config" / "chatbot.toml"));

  fs::create_directories(work.path() / "config");
  fs::copy_file(kSourceDir / "config" / "chatbot.toml", work.path() / "config" / "chatbot.toml");
  const ProcessResult show = Chatbot(work.path(), {"config", "show"});
  ASSERT_EQ(show.exit_code, kExitOk) << Describe(show);
  const ShownConfig shown = ParseConfigShow(show.out);
  ASSERT_FALSE(shown.settings.empty());
  for (const auto& [key, setting] : shown.settings) {
    EXPECT_THAT(setting.origin, ::testing::StartsWith("file config/chatbot.toml:")) << key;
  }
}

TEST(CliConfigTest, UnknownKeyInTheFileIsRefusedWithFileLineAndKey) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "bad.toml", "[svm]\nc = 2\ncc = 1\n");
  const ProcessResult r = Chatbot(work.path(), {"--config", "bad.toml", "config", "show"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("bad.toml:3"));
  EXPECT_THAT(r.err, HasSubstr("svm.cc"));
  EXPECT_EQ(r.out, "");

  // Every command refuses it, before doing anything.
  const ProcessResult train =
      Chatbot(work.path(), {"--config", "bad.toml", "train", "--data", kDomain});
  EXPECT_EQ(train.exit_code, kExitUsage) << Describe(train);
  EXPECT_THAT(train.err, HasSubstr("bad.toml:3"));
  EXPECT_FALSE(fs::exists(work.path() / "model"));
}

TEST(CliConfigTest, MissingConfigFileIsRefused) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"--config", "nope.toml", "config", "show"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("nope.toml"));
}

TEST(CliConfigTest, BadEnvironmentValueIsRefusedNamingTheVariable) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "show"}, {{"CHATBOT_SVM_C", "abc"}});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("CHATBOT_SVM_C"));
  EXPECT_THAT(r.err, HasSubstr("abc"));
}

TEST(CliConfigTest, UnknownEnvironmentVariableIsRefused) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "show"}, {{"CHATBOT_SVM_CC", "1"}});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("CHATBOT_SVM_CC"));
}

TEST(CliConfigTest, BadFlagValueIsRefusedNamingTheFlag) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"--set", "nlu.top_k=0", "config", "show"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--set nlu.top_k=0"));

  const ProcessResult unknown = Chatbot(work.path(), {"--set", "svm.cc=1", "config", "show"});
  EXPECT_EQ(unknown.exit_code, kExitUsage) << Describe(unknown);
  EXPECT_THAT(unknown.err, HasSubstr("svm.cc"));
}

TEST(CliConfigTest, TemplateIsTomlWithEverySectionAndReadsBack) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "template"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);

  static const std::regex kHeader(R"(\[([a-z_]+)\])");
  static const std::regex kAssignment(R"([a-z_]+ = \S.*)");
  std::vector<std::string> sections;
  int assignments = 0;
  for (const std::string& line : Lines(r.out)) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch match;
    if (std::regex_match(line, match, kHeader)) {
      sections.push_back(match[1]);
    } else if (std::regex_match(line, kAssignment)) {
      ++assignments;
    } else {
      ADD_FAILURE() << "not a comment, header or assignment: " << line;
    }
  }
  EXPECT_EQ(sections, kSections);

  // Every setting that `config show` lists is in the template, and the
  // template is a valid configuration file that sets all of them.
  const ProcessResult defaults = Chatbot(work.path(), {"config", "show"});
  ASSERT_EQ(defaults.exit_code, kExitOk) << Describe(defaults);
  const ShownConfig shown_defaults = ParseConfigShow(defaults.out);
  EXPECT_EQ(static_cast<size_t>(assignments), shown_defaults.settings.size());

  WriteStringToFile(work.path() / "template.toml", r.out);
  const ProcessResult back = Chatbot(work.path(), {"--config", "template.toml", "config", "show"});
  ASSERT_EQ(back.exit_code, kExitOk) << Describe(back);
  const ShownConfig shown = ParseConfigShow(back.out);
  ASSERT_EQ(shown.settings.size(), shown_defaults.settings.size());
  for (const auto& [key, setting] : shown.settings) {
    EXPECT_THAT(setting.origin, ::testing::StartsWith("file template.toml:")) << key;
    ASSERT_TRUE(shown_defaults.settings.count(key)) << key;
    EXPECT_EQ(setting.value, shown_defaults.settings.at(key).value) << key;
  }
}

TEST(CliConfigTest, ReferenceIsAMarkdownTableOfEverySetting) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"config", "reference"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, ::testing::StartsWith("| Setting |"));
  EXPECT_THAT(r.out, HasSubstr("`svm.c`"));
  EXPECT_THAT(r.out, HasSubstr("`CHATBOT_SVM_C`"));
}

// ---------------------------------------------------------------------------
// Bad training data

TEST(CliDataErrorTest, YamlSyntaxErrorNamesFileAndLine) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "bad.yml",
                    "version: 1\n"
                    "intents:\n"
                    "  - intent: a\n"
                    "    examples: a: b\n"
                    "      - hi\n");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", "bad.yml"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("bad.yml:4"));
  EXPECT_FALSE(fs::exists(work.path() / "model"));
}

TEST(CliDataErrorTest, IntentWithOneExampleTrainsAndIsNamed) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "one.yml",
                    "version: 1\n"
                    "intents:\n"
                    "  - intent: pair\n"
                    "    examples: [one, two]\n"
                    "  - intent: lonely_intent\n"
                    "    examples: [only one]\n");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", "one.yml"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("1 intent(s) with a single example"));
  EXPECT_THAT(r.err, HasSubstr("'lonely_intent' ("));
  EXPECT_THAT(r.err, HasSubstr("one.yml:5"));
  EXPECT_TRUE(fs::exists(work.path() / "model" / "svm" / "manifest.json"));
}

TEST(CliDataErrorTest, InvalidUtf8InJsonlNamesFileAndLine) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "u.jsonl",
                    "{\"text\": \"hi\", \"intent\": \"a\"}\n"
                    "{\"text\": \"hello\", \"intent\": \"a\"}\n"
                    "{\"text\": \"caf\xe9\", \"intent\": \"b\"}\n"
                    "{\"text\": \"bye\", \"intent\": \"b\"}\n");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", "u.jsonl"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("u.jsonl:3"));
  EXPECT_THAT(r.err, HasSubstr("UTF-8"));
}

TEST(CliDataErrorTest, EmptyTextIsSkippedAndCounted) {
  TempDir work("chatbot-cli");
  WriteStringToFile(work.path() / "empty.jsonl",
                    "{\"text\": \"hi\", \"intent\": \"a\"}\n"
                    "{\"text\": \"hello\", \"intent\": \"a\"}\n"
                    "{\"text\": \"   \", \"intent\": \"a\"}\n"
                    "{\"text\": \"bye\", \"intent\": \"b\"}\n"
                    "{\"text\": \"see you\", \"intent\": \"b\"}\n");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", "empty.jsonl"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("1 empty example text(s) skipped: empty.jsonl:3"));
  EXPECT_THAT(r.out, HasSubstr("4 examples, 2 intents"));
}

TEST(CliDataErrorTest, MissingDataPathIsRefused) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"train", "--data", "no-such-data"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no-such-data"));

  // Without --data, [paths] data (data/domain, relative) does not exist here.
  const ProcessResult by_default = Chatbot(work.path(), {"train"});
  EXPECT_EQ(by_default.exit_code, kExitUsage) << Describe(by_default);
  EXPECT_THAT(by_default.err, HasSubstr("data/domain"));
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

// ---------------------------------------------------------------------------
// Usage

TEST(CliUsageTest, NoSubcommandFailsAndPointsToTheUsage) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {});
  EXPECT_NE(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.signal, 0);
  EXPECT_THAT(r.err, HasSubstr("subcommand"));
  EXPECT_THAT(r.err, HasSubstr("--help"));
}

TEST(CliUsageTest, NoSubcommandPrintsTheUsage) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {});
  EXPECT_NE(r.exit_code, kExitOk) << Describe(r);
  const std::string all = r.out + r.err;
  EXPECT_THAT(all, HasSubstr("Usage:"));
  for (const char* subcommand : {"train", "predict", "evaluate", "config", "chat"}) {
    EXPECT_THAT(all, HasSubstr(subcommand));
  }
}

TEST(CliUsageTest, UnknownSubcommandOrOptionFails) {
  TempDir work("chatbot-cli");
  const ProcessResult subcommand = Chatbot(work.path(), {"frobnicate"});
  EXPECT_NE(subcommand.exit_code, kExitOk) << Describe(subcommand);
  EXPECT_EQ(subcommand.signal, 0);
  EXPECT_NE(subcommand.err, "");
  EXPECT_EQ(subcommand.out, "");

  const ProcessResult option = Chatbot(work.path(), {"--bogus", "config", "show"});
  EXPECT_NE(option.exit_code, kExitOk) << Describe(option);
  EXPECT_THAT(option.err, HasSubstr("--bogus"));

  const ProcessResult config = Chatbot(work.path(), {"config"});
  EXPECT_NE(config.exit_code, kExitOk) << Describe(config);

  const ProcessResult evaluate = Chatbot(work.path(), {"evaluate"});
  EXPECT_NE(evaluate.exit_code, kExitOk) << Describe(evaluate);
  EXPECT_THAT(evaluate.err, HasSubstr("--data"));
}

TEST(CliUsageTest, ArgumentErrorsExitWithTheUsageStatus) {
  TempDir work("chatbot-cli");
  const std::vector<std::vector<std::string>> cases = {{},
                                                       {"frobnicate"},
                                                       {"--bogus", "config", "show"},
                                                       {"predict", "--top-k", "0", "hi"},
                                                       {"evaluate"}};
  for (const auto& args : cases) {
    const ProcessResult r = Chatbot(work.path(), args);
    EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  }
}

TEST(CliUsageTest, HelpListsEverySubcommand) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"--help"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  for (const char* subcommand : {"train", "predict", "evaluate", "config", "chat"}) {
    EXPECT_THAT(r.out, HasSubstr(subcommand));
  }
  EXPECT_THAT(r.out, HasSubstr("--config"));
  EXPECT_THAT(r.out, HasSubstr("--set"));
}

TEST(CliUsageTest, VersionPrintsTheProjectVersion) {
  TempDir work("chatbot-cli");
  const ProcessResult r = Chatbot(work.path(), {"--version"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\d+\.\d+\.\d+)"))) << r.out;
  EXPECT_EQ(Trim(r.out), CHATBOT_PROJECT_VERSION);
}

// The helper itself: a child that outlives the timeout is killed.
TEST(CliProcessRunnerTest, TimeoutKillsTheChild) {
  ProcessOptions options;
  options.program = "/bin/sh";
  options.args = {"-c", "echo started; echo oops >&2; exec sleep 30"};
  options.timeout = std::chrono::milliseconds(300);
  const ProcessResult r = RunProcess(options);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_LT(r.seconds, 10);
}

TEST(CliProcessRunnerTest, EnvironmentAndStdinAreControlled) {
  ProcessOptions options;
  options.program = "/bin/sh";
  options.args = {"-c", "env | grep '^CHATBOT_' | sort; cat"};
  options.environment = {{"CHATBOT_ONLY", "1"}};
  options.stdin_data = "from stdin\n";
  ::setenv("CHATBOT_LEAK", "1", 1);
  const ProcessResult r = RunProcess(options);
  ::unsetenv("CHATBOT_LEAK");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "CHATBOT_ONLY=1\nfrom stdin\n");
}

}  // namespace
}  // namespace chatbot::testing
