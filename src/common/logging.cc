#include "common/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/private_files.h"

namespace chatbot {
namespace {

// ISO-8601 local time with milliseconds and UTC offset, then the level (in
// colour on a terminal) and the logger:
//   2024-05-01T12:34:56.789+02:00 [info] [app] model loaded
constexpr char kPattern[] = "%Y-%m-%dT%H:%M:%S.%e%z [%^%l%$] [%n] %v";

struct NamedLevel {
  std::string_view name;
  spdlog::level::level_enum level;
};
constexpr std::array<NamedLevel, 7> kLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

// The loggers handed out by AppLog() and friends. Constant-initialised, so
// they are usable even from other files' static initialisers.
struct Loggers {
  std::shared_ptr<spdlog::logger> app;
  std::shared_ptr<spdlog::logger> training;
  std::shared_ptr<spdlog::logger> api;
};
std::mutex loggers_mutex;
Loggers loggers;

spdlog::level::level_enum ParseLevel(const std::string& name) {
  for (const NamedLevel& level : kLevels) {
    if (level.name == name) return level.level;
  }
  std::vector<std::string_view> names;
  for (const NamedLevel& level : kLevels) names.push_back(level.name);
  throw ConfigError(
      fmt::format("logging.level: '{}' is not one of {}", name, fmt::join(names, ", ")));
}

bool UseConsole(const std::string& console) {
  if (console == "always") return true;
  if (console == "never") return false;
  if (console == "auto") return ::isatty(STDERR_FILENO) == 1;
  throw ConfigError(
      fmt::format("logging.console: '{}' is not one of auto, always, never", console));
}

constexpr const char* kApiPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z",%v)";

// What a logger is before InitLogging: stderr only, so early messages (bad
// configuration, for one) are still seen.
std::shared_ptr<spdlog::logger> ConsoleLogger(const std::string& name) {
  auto logger = std::make_shared<spdlog::logger>(
      name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern(kPattern);
  return logger;
}

std::shared_ptr<spdlog::logger> Get(std::shared_ptr<spdlog::logger> Loggers::*which,
                                    const char* name) {
  std::lock_guard lock(loggers_mutex);
  std::shared_ptr<spdlog::logger>& logger = loggers.*which;
  if (logger == nullptr) logger = ConsoleLogger(name);
  return logger;
}

}  // namespace

namespace {
std::atomic<bool> logs_to_console{true};  // the console-only loggers before InitLogging
}  // namespace

bool LogsToConsole() {
  return logs_to_console.load();
}

void InitLogging(const Settings::Logging& settings, const std::filesystem::path& logs_dir) {
  const spdlog::level::level_enum level = ParseLevel(settings.level);
  const bool console = UseConsole(settings.console);
  if (settings.max_size_mb < 1 || settings.max_files < 1) {
    throw ConfigError(fmt::format("logging: max_size_mb ({}) and max_files ({}) must be positive",
                                  settings.max_size_mb, settings.max_files));
  }
  // The logs hold customer messages and addresses: the service's user
  // only, or also a configured log group (read-only), whatever the umask.
  std::optional<gid_t> group;
  if (!settings.group.empty()) {
    group = LookUpGroup(settings.group);
    if (!group) throw ConfigError("logging.group: no group named '" + settings.group + "'");
  }
  const mode_t file_mode = group ? 0640 : kPrivateFileMode;
  try {
    CreatePrivateDirectories(logs_dir, group ? 0750 : kPrivateDirMode);
  } catch (const IoError& e) {
    throw IoError(fmt::format("cannot create logs directory: {}", e.what()));
  }
  if (group && ::chown(logs_dir.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    throw IoError(fmt::format("cannot give logs directory {} to group {}: {}", logs_dir.string(),
                              settings.group, std::strerror(errno)));
  }
  // Every log file, the first and each one rotation opens, gets the mode
  // (and group) before anything is written to it.
  spdlog::file_event_handlers private_files;
  private_files.after_open = [file_mode, group](const spdlog::filename_t&, std::FILE* file) {
    const int fd = ::fileno(file);
    if (group) (void)::fchown(fd, static_cast<uid_t>(-1), *group);
    (void)::fchmod(fd, file_mode);
  };

  const size_t max_size = static_cast<size_t>(settings.max_size_mb) * 1024 * 1024;
  const size_t max_files = static_cast<size_t>(settings.max_files);
  // app and training share one console sink so their lines never interleave
  // mid-line.
  const spdlog::sink_ptr console_sink =
      console ? std::make_shared<spdlog::sinks::stderr_color_sink_mt>() : nullptr;
  logs_to_console = console;
  const auto make_logger = [&](const std::string& name, bool to_console) {
    std::vector<spdlog::sink_ptr> sinks;
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          (logs_dir / (name + ".log")).string(), max_size, max_files, false, private_files));
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError(e.what());
    }
    if (to_console && console_sink != nullptr) sinks.push_back(console_sink);
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    // The access log is JSON Lines: the pattern opens each object with its
    // time and the message (a JSON object without its opening brace)
    // completes it, so no time is formatted per request.
    logger->set_pattern(name == "api" ? kApiPattern : kPattern);
    logger->set_level(level);
    // Warnings and errors reach the disk at once; the rest within a second.
    logger->flush_on(spdlog::level::warn);
    return logger;
  };
  // Every logger is built before any is replaced, so a failure keeps the old.
  Loggers fresh{make_logger("app", true), make_logger("training", true), make_logger("api", false)};

  {
    std::lock_guard lock(loggers_mutex);
    std::swap(loggers, fresh);
    // The registry is what spdlog::flush_every and spdlog::info() use. Setting
    // the default logger also registers it under its name, replacing the old
    // "app" without a moment with no default logger.
    spdlog::set_default_logger(loggers.app);
    for (const auto& logger : {loggers.training, loggers.api}) {
      spdlog::drop(logger->name());
      spdlog::register_logger(logger);
    }
  }
  spdlog::flush_every(std::chrono::seconds(1));
  // The replaced loggers (in `fresh`) write out what they still hold.
  for (const auto& logger : {fresh.app, fresh.training, fresh.api}) {
    if (logger != nullptr) logger->flush();
  }
}

std::shared_ptr<spdlog::logger> AppLog() {
  return Get(&Loggers::app, "app");
}
std::shared_ptr<spdlog::logger> TrainingLog() {
  return Get(&Loggers::training, "training");
}
std::shared_ptr<spdlog::logger> ApiLog() {
  return Get(&Loggers::api, "api");
}

void FlushLogs() {
  std::lock_guard lock(loggers_mutex);
  for (const auto& logger : {loggers.app, loggers.training, loggers.api}) {
    if (logger != nullptr) logger->flush();
  }
}

}  // namespace chatbot
