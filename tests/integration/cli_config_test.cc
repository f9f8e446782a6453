// Integration tests of the `chatbot` command line around the commands:
// configuration (config show, template, reference and every source), bad
// training data, usage errors, --help and --version, and the process
// runner the tests rely on (cli_fixture.h).
#include "cli_fixture.h"

namespace chatbot::testing {
namespace {

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
