// Logging (spdlog). Named loggers, each with its own size-rotated file under
// the logs directory and a console copy when the process is interactive:
//   "app"      -> logs/app.log       (the default logger)
//   "training" -> logs/training.log  (one block per training run)
//   "api"      -> logs/api.log       (access log, added with the service)
#ifndef CHATBOT_COMMON_LOGGING_H_
#define CHATBOT_COMMON_LOGGING_H_

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "common/config.h"

namespace chatbot {

// Creates the logs directory and the loggers. Safe to call more than once (a
// later call replaces the loggers). Throws ConfigError for an unknown level
// and IoError when the directory cannot be created.
void InitLogging(const Settings::Logging& settings, const std::filesystem::path& logs_dir);

// The loggers; before InitLogging they log to the console only.
std::shared_ptr<spdlog::logger> AppLog();
std::shared_ptr<spdlog::logger> TrainingLog();
std::shared_ptr<spdlog::logger> ApiLog();

// Whether the app log is copied to stderr (so a caller printing an error
// there too would show it twice).
bool LogsToConsole();

// Flushes every logger (at exit and before a crash-safe shutdown).
void FlushLogs();

}  // namespace chatbot

#endif  // CHATBOT_COMMON_LOGGING_H_
