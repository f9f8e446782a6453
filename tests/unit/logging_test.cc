#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "common/error.h"

namespace chatbot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Settings::Logging QuietSettings(const std::string& level = "info") {
  Settings::Logging settings;
  settings.level = level;
  settings.console = "never";
  return settings;
}

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("chatbot_logging_test_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

// A fresh process (the "threadsafe" style re-runs the binary for the death
// statement), so no other test has called InitLogging yet.
TEST(LoggingDeathTest, BeforeInitLoggersWriteToStderr) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        for (const auto& logger : {AppLog(), TrainingLog(), ApiLog()}) {
          if (logger == nullptr || logger->sinks().size() != 1 ||
              std::dynamic_pointer_cast<spdlog::sinks::stderr_color_sink_mt>(logger->sinks()[0]) ==
                  nullptr) {
            std::exit(1);
          }
        }
        AppLog()->info("early app message");
        ApiLog()->warn("early api message");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "early app message(.|\n)*early api message");
}

TEST_F(LoggingTest, CreatesTheDirectoryAndOneFilePerLogger) {
  InitLogging(QuietSettings(), dir_ / "nested" / "logs");
  AppLog()->info("message for app");
  TrainingLog()->info("message for training");
  ApiLog()->info("message for api");
  FlushLogs();

  const std::string app = ReadText(dir_ / "nested" / "logs" / "app.log");
  const std::string training = ReadText(dir_ / "nested" / "logs" / "training.log");
  const std::string api = ReadText(dir_ / "nested" / "logs" / "api.log");
  EXPECT_THAT(app, HasSubstr("message for app"));
  EXPECT_THAT(training, HasSubstr("message for training"));
  EXPECT_THAT(api, HasSubstr("message for api"));
  EXPECT_THAT(app, Not(HasSubstr("message for training")));
  EXPECT_THAT(app, Not(HasSubstr("message for api")));
  EXPECT_THAT(training, Not(HasSubstr("message for app")));
  EXPECT_THAT(api, Not(HasSubstr("message for app")));
}

TEST_F(LoggingTest, AppIsTheDefaultLogger) {
  InitLogging(QuietSettings(), dir_);
  EXPECT_EQ(spdlog::default_logger(), AppLog());
  spdlog::info("through the default logger");
  FlushLogs();
  EXPECT_THAT(ReadText(dir_ / "app.log"), HasSubstr("through the default logger"));
}

// Whether `text` has the shape of `pattern`, where '9' stands for a digit and
// '+' for a sign (std::regex trips GCC 12 warnings under the sanitizers).
bool HasShape(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool ok = pattern[i] == '9'   ? std::isdigit(static_cast<unsigned char>(text[i])) != 0
                    : pattern[i] == '+' ? text[i] == '+' || text[i] == '-'
                                        : text[i] == pattern[i];
    if (!ok) return false;
  }
  return true;
}

TEST_F(LoggingTest, LinesHaveIsoTimestampWithMillisecondsAndLevel) {
  InitLogging(QuietSettings(), dir_);
  TrainingLog()->info("formatted");
  FlushLogs();
  const std::string line = ReadText(dir_ / "training.log");
  EXPECT_TRUE(HasShape(line, "9999-99-99T99:99:99.999+99:99 [info] [training] formatted\n"))
      << line;
}

TEST_F(LoggingTest, LevelFiltersMessages) {
  InitLogging(QuietSettings("warn"), dir_);
  AppLog()->info("not wanted");
  AppLog()->warn("wanted warning");
  ApiLog()->debug("not wanted either");
  ApiLog()->error("wanted error");
  FlushLogs();
  const std::string app = ReadText(dir_ / "app.log");
  EXPECT_THAT(app, HasSubstr("wanted warning"));
  EXPECT_THAT(app, Not(HasSubstr("not wanted")));
  const std::string api = ReadText(dir_ / "api.log");
  EXPECT_THAT(api, HasSubstr("wanted error"));
  EXPECT_THAT(api, Not(HasSubstr("not wanted")));
}

TEST_F(LoggingTest, WarningsAreFlushedAtOnce) {
  InitLogging(QuietSettings(), dir_);
  AppLog()->warn("urgent");
  EXPECT_THAT(ReadText(dir_ / "app.log"), HasSubstr("urgent"));
}

TEST_F(LoggingTest, RotatesWhenTheSizeIsExceeded) {
  Settings::Logging settings = QuietSettings();
  settings.max_size_mb = 1;
  settings.max_files = 2;
  InitLogging(settings, dir_);
  const std::string payload(1000, 'x');
  for (int i = 0; i < 1600; ++i) AppLog()->info("{} {}", i, payload);  // about 1.6 MiB
  FlushLogs();

  ASSERT_TRUE(std::filesystem::exists(dir_ / "app.1.log"));
  EXPECT_LE(std::filesystem::file_size(dir_ / "app.log"), 1024u * 1024u);
  EXPECT_LE(std::filesystem::file_size(dir_ / "app.1.log"), 1024u * 1024u);
  EXPECT_THAT(ReadText(dir_ / "app.log"), HasSubstr("1599 xxx"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "training.1.log"));
}

TEST_F(LoggingTest, KeepsAtMostMaxFilesRotatedFiles) {
  Settings::Logging settings = QuietSettings();
  settings.max_size_mb = 1;
  settings.max_files = 1;
  InitLogging(settings, dir_);
  const std::string payload(1000, 'y');
  for (int i = 0; i < 3500; ++i) ApiLog()->info("{} {}", i, payload);  // about 3.4 MiB
  FlushLogs();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "api.1.log"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "api.2.log"));
}

TEST_F(LoggingTest, CallingAgainReplacesTheLoggers) {
  InitLogging(QuietSettings(), dir_ / "first");
  AppLog()->info("into first");
  InitLogging(QuietSettings(), dir_ / "second");
  AppLog()->info("into second");
  spdlog::info("default into second");
  FlushLogs();
  EXPECT_THAT(ReadText(dir_ / "first" / "app.log"), HasSubstr("into first"));
  EXPECT_THAT(ReadText(dir_ / "first" / "app.log"), Not(HasSubstr("into second")));
  EXPECT_THAT(ReadText(dir_ / "second" / "app.log"), HasSubstr("into second"));
  EXPECT_THAT(ReadText(dir_ / "second" / "app.log"), HasSubstr("default into second"));
  EXPECT_EQ(spdlog::get("training"), TrainingLog());
  EXPECT_EQ(spdlog::get("api"), ApiLog());
}

TEST_F(LoggingTest, ConsoleCopiesAppAndTrainingButNeverApi) {
  Settings::Logging settings = QuietSettings();
  settings.console = "always";
  InitLogging(settings, dir_);
  EXPECT_EQ(AppLog()->sinks().size(), 2u);
  EXPECT_EQ(TrainingLog()->sinks().size(), 2u);
  EXPECT_EQ(ApiLog()->sinks().size(), 1u);

  settings.console = "never";
  InitLogging(settings, dir_);
  EXPECT_EQ(AppLog()->sinks().size(), 1u);
  EXPECT_EQ(TrainingLog()->sinks().size(), 1u);
}

TEST_F(LoggingTest, UnknownLevelOrConsoleIsAConfigError) {
  try {
    InitLogging(QuietSettings("loud"), dir_);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("logging.level: 'loud'"));
  }
  Settings::Logging settings = QuietSettings();
  settings.console = "sometimes";
  EXPECT_THROW(InitLogging(settings, dir_), ConfigError);
}

TEST_F(LoggingTest, UncreatableDirectoryIsAnIoError) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "file") << "not a directory";
  try {
    InitLogging(QuietSettings(), dir_ / "file" / "logs");
    FAIL() << "no IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr((dir_ / "file" / "logs").string()));
  }
}

}  // namespace
}  // namespace chatbot
