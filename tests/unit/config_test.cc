#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

// chatbot_common builds toml++ as a shared library (TOML_HEADER_ONLY=0) but
// does not pass that on; match it so the test uses the same toml++ code.
#define TOML_HEADER_ONLY 0
#include <toml++/toml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "common/error.h"

namespace chatbot {
namespace {

using ::testing::HasSubstr;
using Environment = std::map<std::string, std::string>;

const std::filesystem::path kSourceDir = CHATBOT_SOURCE_DIR;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The message of the ConfigError that `load` throws ("" and a test failure
// when it throws none).
std::string ErrorOf(const std::function<void()>& load) {
  try {
    load();
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "";
}

// Runs the test in its own empty working directory, so that no
// config/chatbot.toml is found by accident and files can be written freely.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("chatbot_config_test_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_);
  }

  void TearDown() override {
    std::filesystem::current_path(old_cwd_);
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
  }

  // Loads with an explicit (by default empty) environment, never the real one.
  static Configuration Load(std::optional<std::filesystem::path> file, Environment environment = {},
                            std::vector<std::string> flags = {}) {
    return Configuration::Load({.file = std::move(file),
                                .flags = std::move(flags),
                                .environment = std::move(environment)});
  }

  std::filesystem::path dir_;
  std::filesystem::path old_cwd_;
};

TEST_F(ConfigTest, DefaultsWhenThereIsNoSource) {
  const Configuration config = Load(std::nullopt);
  EXPECT_EQ(config.settings(), Settings{});
  EXPECT_FALSE(config.file().has_value());
  for (const std::string& key : Configuration::Keys()) {
    EXPECT_EQ(config.OriginOf(key).kind, ValueOrigin::Kind::kDefault) << key;
  }
}

TEST_F(ConfigTest, FileOverridesDefaults) {
  const auto path = WriteFile("my.toml",
                              "[svm]\n"
                              "c = 2.5\n"
                              "\n"
                              "[paths]\n"
                              "data = [\"a\", \"b\"]\n");
  const Configuration config = Load(path);
  EXPECT_EQ(config.settings().svm.c, 2.5);
  EXPECT_EQ(config.settings().paths.data, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config.settings().svm.seed, 42);
  EXPECT_EQ(config.file(), path);

  EXPECT_EQ(config.OriginOf("svm.c").kind, ValueOrigin::Kind::kFile);
  EXPECT_EQ(config.OriginOf("svm.c").detail, path.string() + ":2");
  EXPECT_EQ(config.OriginOf("paths.data").detail, path.string() + ":5");
  EXPECT_EQ(config.OriginOf("svm.seed").kind, ValueOrigin::Kind::kDefault);
}

TEST_F(ConfigTest, EnvironmentOverridesFile) {
  const auto path = WriteFile("my.toml", "[svm]\nc = 2.0\nseed = 7\n");
  const Configuration config =
      Load(path, {{"CHATBOT_SVM_C", "3.5"}, {"CHATBOT_PATHS_MODELS", "m"}, {"HOME", "/root"}});
  EXPECT_EQ(config.settings().svm.c, 3.5);
  EXPECT_EQ(config.settings().svm.seed, 7);
  EXPECT_EQ(config.settings().paths.models, "m");
  EXPECT_EQ(config.OriginOf("svm.c").kind, ValueOrigin::Kind::kEnvironment);
  EXPECT_EQ(config.OriginOf("svm.c").detail, "CHATBOT_SVM_C");
  EXPECT_EQ(config.OriginOf("svm.seed").kind, ValueOrigin::Kind::kFile);
}

TEST_F(ConfigTest, FlagsOverrideEnvironmentInOrder) {
  const auto path = WriteFile("my.toml", "[nlu]\ntop_k = 3\n");
  const Configuration config = Load(path, {{"CHATBOT_NLU_TOP_K", "4"}, {"CHATBOT_SVM_SEED", "9"}},
                                    {"nlu.top_k=6", "bot.name=Bo", "nlu.top_k=7"});
  EXPECT_EQ(config.settings().nlu.top_k, 7);
  EXPECT_EQ(config.settings().bot.name, "Bo");
  EXPECT_EQ(config.settings().svm.seed, 9);
  EXPECT_EQ(config.OriginOf("nlu.top_k").kind, ValueOrigin::Kind::kFlag);
  EXPECT_EQ(config.OriginOf("nlu.top_k").detail, "--set nlu.top_k=7");
  EXPECT_EQ(DescribeOrigin(config.OriginOf("nlu.top_k")), "flag --set nlu.top_k=7");
  EXPECT_EQ(DescribeOrigin(config.OriginOf("svm.seed")), "environment CHATBOT_SVM_SEED");
}

TEST_F(ConfigTest, FlagValueMayContainEquals) {
  const Configuration config = Load(std::nullopt, {}, {"bot.name=a=b"});
  EXPECT_EQ(config.settings().bot.name, "a=b");
}

TEST_F(ConfigTest, RealEnvironmentIsReadWhenNoneIsGiven) {
  ASSERT_EQ(::setenv("CHATBOT_NLU_TOP_K", "11", 1), 0);
  const Configuration config = Configuration::Load({});
  ::unsetenv("CHATBOT_NLU_TOP_K");
  EXPECT_EQ(config.settings().nlu.top_k, 11);
}

TEST_F(ConfigTest, ExplicitFileMustExist) {
  const std::string message = ErrorOf([] { Load("missing.toml"); });
  EXPECT_THAT(message, HasSubstr("config file 'missing.toml' does not exist"));
}

TEST_F(ConfigTest, ExplicitFileMustNotBeADirectory) {
  std::filesystem::create_directories(dir_ / "conf.d");
  EXPECT_THAT(ErrorOf([] { Load("conf.d"); }), HasSubstr("'conf.d' is not a regular file"));
}

TEST_F(ConfigTest, ConfigVariableChoosesTheFile) {
  const auto path = WriteFile("env.toml", "[svm]\nseed = 5\n");
  WriteFile("config/chatbot.toml", "[svm]\nseed = 6\n");
  const Configuration config = Load(std::nullopt, {{"CHATBOT_CONFIG", path.string()}});
  EXPECT_EQ(config.settings().svm.seed, 5);
  EXPECT_EQ(config.file(), path);
}

TEST_F(ConfigTest, ConfigVariableMustNameAnExistingFile) {
  const std::string message = ErrorOf([] {
    Load(std::nullopt, {{"CHATBOT_CONFIG", "nowhere.toml"}});
  });
  EXPECT_THAT(message, HasSubstr("environment CHATBOT_CONFIG"));
  EXPECT_THAT(message, HasSubstr("'nowhere.toml' does not exist"));
}

TEST_F(ConfigTest, ExplicitFileWinsOverConfigVariable) {
  const auto mine = WriteFile("mine.toml", "[svm]\nseed = 1\n");
  const auto other = WriteFile("other.toml", "[svm]\nseed = 2\n");
  const Configuration config = Load(mine, {{"CHATBOT_CONFIG", other.string()}});
  EXPECT_EQ(config.settings().svm.seed, 1);
}

TEST_F(ConfigTest, DefaultFileInWorkingDirectoryIsUsed) {
  WriteFile("config/chatbot.toml", "[svm]\nseed = 6\n");
  const Configuration config = Load(std::nullopt);
  EXPECT_EQ(config.settings().svm.seed, 6);
  EXPECT_EQ(config.file(), std::filesystem::path("config/chatbot.toml"));
  EXPECT_EQ(config.OriginOf("svm.seed").detail, "config/chatbot.toml:2");
}

TEST_F(ConfigTest, IntegerIsAcceptedForADouble) {
  const Configuration config = Load(WriteFile("my.toml", "[svm]\nc = 3\n"));
  EXPECT_EQ(config.settings().svm.c, 3.0);
}

TEST_F(ConfigTest, WrongTypesInFileAreRejected) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[nlu]\ntop_k = 2.5\n", "my.toml:2: nlu.top_k: expected an integer, got a float"},
      {"[nlu]\ntop_k = \"5\"\n", "my.toml:2: nlu.top_k: expected an integer, got a string"},
      {"[svm]\nc = \"big\"\n", "my.toml:2: svm.c: expected a number, got a string"},
      {"[svm]\nsublinear_tf = 1\n", "my.toml:2: svm.sublinear_tf: expected a boolean"},
      {"[bot]\nname = 3\n", "my.toml:2: bot.name: expected a string, got an integer"},
      {"[paths]\ndata = \"x\"\n", "my.toml:2: paths.data: expected an array of strings"},
      {"[paths]\ndata = [\"x\", 2]\n", "my.toml:2: paths.data: entry 2 is an integer"},
      {"[svm]\nc = nan\n", "my.toml:2: svm.c: must be a finite number"},
  };
  for (const Case& c : cases) {
    const auto path = WriteFile("my.toml", c.text);
    EXPECT_THAT(ErrorOf([&] { Load(path); }), HasSubstr(c.expected)) << c.text;
  }
}

TEST_F(ConfigTest, WrongTextInEnvironmentIsRejected) {
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_SVM_C", "abc"}});
            }),
            "environment CHATBOT_SVM_C: 'abc' is not a number");
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_NLU_TOP_K", "5x"}});
            }),
            "environment CHATBOT_NLU_TOP_K: '5x' is not an integer");
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_NLU_TOP_K", ""}});
            }),
            "environment CHATBOT_NLU_TOP_K: '' is not an integer");
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_SVM_SEED", "99999999999999999999"}});
              }),
              HasSubstr("environment CHATBOT_SVM_SEED: '99999999999999999999' is out of"));
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_NLU_STRIP_ACCENTS", "maybe"}});
              }),
              HasSubstr("environment CHATBOT_NLU_STRIP_ACCENTS: 'maybe' is not a boolean"));
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_SVM_C", "inf"}});
              }),
              HasSubstr("environment CHATBOT_SVM_C: must be a finite number"));
}

// The TOML file cannot hold ill-formed UTF-8, so neither may a variable or a
// flag: `config show` would print a file that does not load (found by the
// config fuzz target).
TEST_F(ConfigTest, InvalidUtf8InEnvironmentOrFlagIsRejected) {
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_PATHS_MODELS", "mod\xC3(el"}});
            }),
            "environment CHATBOT_PATHS_MODELS: invalid UTF-8 at byte 3");
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"paths.data=a,\xFF"}); }),
            "flag --set paths.data=a,\xFF: invalid UTF-8 at byte 2");
}

// A flag's text is the origin comment of `config show`; control characters
// in it must not end the comment or break the TOML (found by the config
// fuzz target).
TEST_F(ConfigTest, ShowStaysLoadableWhateverAFlagHolds) {
  const std::string value = std::string("x\n[server]\nport = 1\r\0\x7f", 22);
  const Configuration config = Load(std::nullopt, {}, {"bot.name=" + value});
  EXPECT_EQ(config.settings().bot.name, value);
  const auto path = WriteFile("shown.toml", config.Describe());
  const Configuration again = Load(path);
  EXPECT_EQ(again.settings().bot.name, value);
  EXPECT_EQ(again.settings().server.port, config.settings().server.port);
  EXPECT_THAT(config.Describe(), HasSubstr("# flag --set bot.name=x\\x0A[server]\\x0Aport = 1"));
}

TEST_F(ConfigTest, BooleanSpellingsInEnvironmentAndFlags) {
  const std::vector<std::pair<std::string, bool>> spellings = {
      {"true", true},   {"1", true},  {"yes", true}, {"on", true},   {"TRUE", true},
      {"false", false}, {"0", false}, {"no", false}, {"off", false}, {"Off", false}};
  for (const auto& [text, expected] : spellings) {
    EXPECT_EQ(
        Load(std::nullopt, {{"CHATBOT_NLU_STRIP_ACCENTS", text}}).settings().nlu.strip_accents,
        expected)
        << text;
    EXPECT_EQ(Load(std::nullopt, {}, {"svm.sublinear_tf=" + text}).settings().svm.sublinear_tf,
              expected)
        << text;
  }
}

TEST_F(ConfigTest, ListsAreCommaSeparatedInEnvironmentAndFlags) {
  EXPECT_EQ(Load(std::nullopt, {{"CHATBOT_PATHS_DATA", "a, b ,c"}}).settings().paths.data,
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Load(std::nullopt, {}, {"paths.data=only"}).settings().paths.data,
            (std::vector<std::string>{"only"}));
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"paths.data=a,,b"}); }),
            "flag --set paths.data=a,,b: entry 2 must not be empty");
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_PATHS_DATA", ""}});
            }),
            "environment CHATBOT_PATHS_DATA: must not be empty");
}

TEST_F(ConfigTest, OutOfRangeNumbersAreRejectedInEverySource) {
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"nlu.top_k=0"}); }),
            "flag --set nlu.top_k=0: must be between 1 and 50");
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_NLU_TOP_K", "51"}});
            }),
            "environment CHATBOT_NLU_TOP_K: must be between 1 and 50");
  const auto path = WriteFile("my.toml", "# comment\n[svm]\nc = 0\nvalidation_fraction = 0.6\n");
  EXPECT_EQ(ErrorOf([&] { Load(path); }), path.string() + ":3: svm.c: must be greater than 0");
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"svm.validation_fraction=0.6"}); }),
            "flag --set svm.validation_fraction=0.6: must be between 0.05 and 0.5");
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"svm.threads=-1"}); }),
            "flag --set svm.threads=-1: must be between 0 and 256");
  // The bounds themselves are allowed.
  EXPECT_EQ(Load(std::nullopt, {}, {"nlu.top_k=50"}).settings().nlu.top_k, 50);
  EXPECT_EQ(
      Load(std::nullopt, {}, {"svm.validation_fraction=0.05"}).settings().svm.validation_fraction,
      0.05);
}

TEST_F(ConfigTest, ValuesOutsideAnEnumAreRejected) {
  const auto path = WriteFile("my.toml", "[logging]\nlevel = \"loud\"\n");
  EXPECT_EQ(ErrorOf([&] { Load(path); }),
            path.string() +
                ":2: logging.level: 'loud' is not one of trace, debug, info, warn, error, "
                "critical, off");
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_LOGGING_CONSOLE", "sometimes"}});
              }),
              HasSubstr("environment CHATBOT_LOGGING_CONSOLE: 'sometimes' is not one of auto, "
                        "always, never"));
  EXPECT_THAT(ErrorOf([] { Load(std::nullopt, {}, {"logging.level=INFO"}); }),
              HasSubstr("flag --set logging.level=INFO: 'INFO' is not one of"));
}

TEST_F(ConfigTest, EmptyPathsAreRejected) {
  const auto path = WriteFile("my.toml", "[paths]\nmodels = \"\"\n");
  EXPECT_EQ(ErrorOf([&] { Load(path); }), path.string() + ":2: paths.models: must not be empty");
  EXPECT_EQ(ErrorOf([] {
              Load(std::nullopt, {{"CHATBOT_PATHS_LOGS", ""}});
            }),
            "environment CHATBOT_PATHS_LOGS: must not be empty");
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"paths.models="}); }),
            "flag --set paths.models=: must not be empty");
  const auto list = WriteFile("list.toml", "[paths]\ndata = []\n");
  EXPECT_EQ(ErrorOf([&] { Load(list); }), list.string() + ":2: paths.data: must not be empty");
}

TEST_F(ConfigTest, UnknownKeysInFileAreRejected) {
  const auto path = WriteFile("my.toml", "[svm]\nc = 1.0\n\ncc = 2\n");
  EXPECT_EQ(ErrorOf([&] { Load(path); }),
            path.string() +
                ":4: unknown key 'svm.cc' (known keys in [svm]: c, word_ngram_max, "
                "char_ngram_min, char_ngram_max, min_df, sublinear_tf, validation_fraction, "
                "threshold_folds, seed, "
                "threads, solver, refit_with_validation, epsilon)");
}

TEST_F(ConfigTest, UnknownSectionsAndTopLevelKeysInFileAreRejected) {
  const auto section = WriteFile("section.toml", "[svm]\nc = 1.0\n[sv]\nc = 2\n");
  EXPECT_EQ(ErrorOf([&] { Load(section); }),
            section.string() +
                ":3: unknown section [sv] (known sections: paths, logging, bot, nlu, server, "
                "sessions, store, cluster, security, tls, dialogue, svm, bert, ensemble, "
                "backup, monitoring, web)");
  const auto top = WriteFile("top.toml", "top_k = 3\n");
  EXPECT_THAT(ErrorOf([&] { Load(top); }),
              HasSubstr(top.string() + ":1: unknown key 'top_k': settings belong in a section"));
  const auto not_table = WriteFile("not_table.toml", "svm = 3\n");
  EXPECT_THAT(ErrorOf([&] { Load(not_table); }),
              HasSubstr(not_table.string() + ":1: 'svm' must be a table"));
  const auto nested = WriteFile("nested.toml", "[svm.extra]\nx = 1\n");
  EXPECT_THAT(ErrorOf([&] { Load(nested); }),
              HasSubstr(nested.string() + ":1: unknown key 'svm.extra'"));
}

TEST_F(ConfigTest, UnknownEnvironmentVariablesAreRejected) {
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_SVM_CC", "1"}});
              }),
              HasSubstr("environment CHATBOT_SVM_CC: unknown variable (known variables for "
                        "[svm]: CHATBOT_SVM_C, CHATBOT_SVM_WORD_NGRAM_MAX"));
  EXPECT_THAT(ErrorOf([] {
                Load(std::nullopt, {{"CHATBOT_TOPK", "1"}});
              }),
              HasSubstr("environment CHATBOT_TOPK: unknown variable (names are "
                        "CHATBOT_<SECTION>_<KEY>; known sections: paths, logging"));
  // Other variables, and CHATBOT_CONFIG itself, are not settings.
  EXPECT_EQ(Load(std::nullopt, {{"PATH", "/bin"}, {"chatbot_svm_cc", "1"}}).settings(), Settings{});
}

TEST_F(ConfigTest, UnknownOrMalformedFlagsAreRejected) {
  EXPECT_THAT(ErrorOf([] { Load(std::nullopt, {}, {"svm.cc=1"}); }),
              HasSubstr("flag --set svm.cc=1: unknown key 'svm.cc' (known keys in [svm]: c, "));
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"foo.bar=1"}); }),
            "flag --set foo.bar=1: unknown section [foo] (known sections: paths, logging, bot, "
            "nlu, server, sessions, store, cluster, security, tls, dialogue, svm, bert, ensemble, "
            "backup, monitoring, web)");
  EXPECT_THAT(ErrorOf([] { Load(std::nullopt, {}, {"top_k=1"}); }),
              HasSubstr("flag --set top_k=1: unknown key 'top_k': expected section.key"));
  EXPECT_EQ(ErrorOf([] { Load(std::nullopt, {}, {"nlu.top_k"}); }),
            "flag --set nlu.top_k: expected section.key=value");
}

TEST_F(ConfigTest, CharacterNgramBoundsMustBeOrdered) {
  const std::string message = ErrorOf([] { Load(std::nullopt, {}, {"svm.char_ngram_min=6"}); });
  EXPECT_EQ(message,
            "svm.char_ngram_min = 6 (flag --set svm.char_ngram_min=6) must not exceed "
            "svm.char_ngram_max = 4 (default)");
  // Equal bounds are fine, and the check applies to the final values only.
  EXPECT_EQ(Load(std::nullopt, {}, {"svm.char_ngram_min=6", "svm.char_ngram_max=6"})
                .settings()
                .svm.char_ngram_min,
            6);
}

TEST_F(ConfigTest, SyntaxErrorReportsFileLineAndColumn) {
  const auto path = WriteFile("bad.toml", "[svm]\nc = \n");
  const std::string message = ErrorOf([&] { Load(path); });
  EXPECT_THAT(message, HasSubstr(path.string() + ":2:5: "));
  EXPECT_THAT(message, HasSubstr("expected value"));
}

TEST_F(ConfigTest, OriginOfUnknownKeyThrows) {
  const Configuration config;
  EXPECT_THAT(ErrorOf([&] { config.OriginOf("svm.cc"); }), HasSubstr("unknown key 'svm.cc'"));
  EXPECT_THAT(ErrorOf([&] { config.OriginOf("svm"); }), HasSubstr("unknown key 'svm'"));
}

TEST_F(ConfigTest, DescribeIsTomlWithOrigins) {
  const auto path = WriteFile("my.toml", "[svm]\nseed = 3\n");
  const Configuration config =
      Load(path, {{"CHATBOT_PATHS_MODELS", "m"}, {"CHATBOT_BOT_NAME", "Say \"hi\"\\\tnow"}},
           {"svm.c=2", "paths.data=x,y"});
  const std::string text = config.Describe();

  toml::table parsed;
  try {
    parsed = toml::parse(text);
  } catch (const toml::parse_error& error) {
    FAIL() << "Describe() is not TOML: " << error << "\n" << text;
  }
  EXPECT_EQ(parsed["paths"]["models"].value<std::string>(), "m");
  EXPECT_EQ(parsed["bot"]["name"].value<std::string>(), "Say \"hi\"\\\tnow");
  EXPECT_EQ(parsed["svm"]["c"].value<double>(), 2.0);
  EXPECT_TRUE(parsed["svm"]["c"].is_floating_point());
  EXPECT_EQ(parsed["svm"]["seed"].value<int64_t>(), 3);
  EXPECT_EQ(parsed["svm"]["validation_fraction"].value<double>(), 0.15);
  EXPECT_EQ(parsed["nlu"]["strip_accents"].value<bool>(), false);
  ASSERT_TRUE(parsed["paths"]["data"].is_array());
  EXPECT_EQ(parsed["paths"]["data"][1].value<std::string>(), "y");
  for (const std::string& key : Configuration::Keys()) {
    EXPECT_TRUE(parsed.at_path(key)) << key << " missing from Describe()";
  }

  EXPECT_THAT(text, HasSubstr("models = \"m\"  # environment CHATBOT_PATHS_MODELS\n"));
  EXPECT_THAT(text, HasSubstr("c = 2.0  # flag --set svm.c=2\n"));
  EXPECT_THAT(text, HasSubstr("seed = 3  # file " + path.string() + ":2\n"));
  EXPECT_THAT(text, HasSubstr("top_k = 5  # default\n"));
  EXPECT_THAT(text, HasSubstr("data = [\"x\", \"y\"]  # flag --set paths.data=x,y\n"));
}

TEST_F(ConfigTest, DescribeOfDefaults) {
  const std::string text = Configuration().Describe();
  EXPECT_THAT(text, HasSubstr("[svm]\nc = 1.0  # default\n"));
  EXPECT_THAT(text, HasSubstr("Config file: none"));
  EXPECT_NO_THROW(toml::parse(text));
}

// The shipped file and the embedded defaults must never drift apart.
TEST_F(ConfigTest, ShippedFileYieldsTheDefaults) {
  const auto path = kSourceDir / "config" / "chatbot.toml";
  const Configuration config = Load(path);
  EXPECT_EQ(config.settings(), Settings{});
  for (const std::string& key : Configuration::Keys()) {
    EXPECT_EQ(config.OriginOf(key).kind, ValueOrigin::Kind::kFile) << key << " missing";
  }
}

TEST_F(ConfigTest, ShippedFileListsEveryDefinitionWithItsVariable) {
  const std::string text = ReadText(kSourceDir / "config" / "chatbot.toml");
  const toml::table parsed = toml::parse(text);
  for (const std::string& key : Configuration::Keys()) {
    EXPECT_TRUE(parsed.at_path(key)) << key << " missing from config/chatbot.toml";
    std::string variable = "CHATBOT_" + key;
    for (char& c : variable) c = c == '.' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_THAT(text, HasSubstr("# Environment: " + variable + "\n"));
  }
}

// The file is generated from the definitions; when this fails, replace the
// file with Configuration::FileTemplate() (the diff shows the change).
TEST_F(ConfigTest, ShippedFileIsTheGeneratedTemplate) {
  EXPECT_EQ(ReadText(kSourceDir / "config" / "chatbot.toml"), Configuration::FileTemplate());
}

TEST_F(ConfigTest, DocumentationHasTheGeneratedReferenceTable) {
  EXPECT_THAT(ReadText(kSourceDir / "docs" / "configuration.md"),
              HasSubstr(Configuration::ReferenceTable()));
}

TEST_F(ConfigTest, FileTemplateLoadsAsTheDefaults) {
  EXPECT_EQ(Load(WriteFile("template.toml", Configuration::FileTemplate())).settings(), Settings{});
}

}  // namespace
}  // namespace chatbot
