// `chatbot check-model` and `chatbot verify-model`: is a model there, does it
// load, is it the model that was trained (ops/model_check.h); and
// `check-model --url`: is a running service healthy, which models does it
// answer with, how fast.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/ops_commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "ops/model_check.h"
#include "ops/model_check_report.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Predictions timed by default: locally, and through a running service
// (whose rate limit for requests without a key is 10 a second).
constexpr int kDefaultLocalSamples = 200;
constexpr int kDefaultServiceSamples = 10;

// The model folders to look at: one (--model) or all.
std::vector<std::string> Names(const Settings& settings, const std::string& only) {
  if (!only.empty()) {
    if (only.find('/') != std::string::npos || only == "." || only == "..") {
      throw ConfigError("--model " + only + ": a model folder name (svm, bert, ...)");
    }
    return {only};
  }
  return ops::ModelNames(settings.paths.models);
}

int CheckLocal(const Settings& settings, const CheckModelArgs& args) {
  std::vector<ops::ModelStatus> statuses;
  for (const std::string& name : Names(settings, args.model)) {
    statuses.push_back(ops::InspectModel(fs::path(settings.paths.models) / name, name,
                                         args.samples >= 0 ? args.samples : kDefaultLocalSamples));
  }
  size_t present = 0;
  size_t healthy = 0;
  for (const ops::ModelStatus& s : statuses) {
    present += s.present ? 1 : 0;
    healthy += s.healthy() ? 1 : 0;
  }
  const bool ok = present > 0 && healthy == present;
  if (args.json) {
    json::array models;
    for (const ops::ModelStatus& s : statuses) models.push_back(ops::StatusToJson(s));
    std::printf(
        "%s\n",
        json::serialize(json::object{{"healthy", ok}, {"models", std::move(models)}}).c_str());
  } else {
    for (const ops::ModelStatus& s : statuses) std::fputs(ops::StatusText(s).c_str(), stdout);
    if (present == 0) {
      std::printf("UNHEALTHY: no model in %s (train one: chatbot train)\n",
                  settings.paths.models.c_str());
    } else if (ok) {
      std::printf("healthy: %zu model%s loadable\n", healthy, healthy == 1 ? "" : "s");
    } else {
      std::printf("UNHEALTHY: %zu of %zu present models do not load\n", present - healthy, present);
    }
  }
  return ok ? kExitOk : kExitFailure;
}

int CheckService(const CheckModelArgs& args) {
  const ops::ServiceCheck check = ops::CheckService(
      args.url, args.api_key, args.samples >= 0 ? args.samples : kDefaultServiceSamples);
  const std::string text =
      args.json ? json::serialize(check.report) + "\n" : ops::ServiceCheckText(check);
  std::fputs(text.c_str(), stdout);
  return check.healthy() ? kExitOk : kExitFailure;
}

}  // namespace

int RunCheckModel(const GlobalOptions& global, const CheckModelArgs& args) {
  const Configuration config = LoadConfiguration(global);
  if (!args.url.empty()) {
    try {
      return CheckService(args);
    } catch (const IoError& e) {
      if (args.json) {
        std::printf("%s\n", json::serialize(json::object{{"url", args.url},
                                                         {"healthy", false},
                                                         {"problems", {e.what()}}})
                                .c_str());
      } else {
        std::printf("service %s: UNREACHABLE: %s\n", args.url.c_str(), e.what());
      }
      return kExitFailure;
    }
  }
  return CheckLocal(config.settings(), args);
}

int RunVerifyModel(const GlobalOptions& global, const VerifyModelArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  std::vector<ops::VerifyReport> reports;
  for (const std::string& name : Names(settings, args.model)) {
    reports.push_back(ops::VerifyModel(fs::path(settings.paths.models) / name, name));
  }
  size_t present = 0;
  size_t failed = 0;
  for (const ops::VerifyReport& r : reports) {
    if (!r.status.present) continue;
    ++present;
    if (!r.ok()) ++failed;
  }
  // A named model that is absent is a failure; absent defaults are not.
  const bool ok = present > 0 && failed == 0 && (args.model.empty() || present == reports.size());
  if (args.json) {
    json::array models;
    for (const ops::VerifyReport& r : reports) models.push_back(ops::VerifyToJson(r));
    std::printf("%s\n",
                json::serialize(json::object{{"ok", ok}, {"models", std::move(models)}}).c_str());
  } else {
    for (const ops::VerifyReport& r : reports) {
      std::fputs(ops::VerifyText(r).c_str(), stdout);
      const std::vector<std::string> problems = r.Problems();
      if (r.status.present && !problems.empty()) {
        AppLog()->error("verify-model {}: {} problem(s): {}", r.status.name, problems.size(),
                        problems.front());
      }
    }
    if (present == 0) {
      std::printf("verify-model: FAILED: no model in %s\n", settings.paths.models.c_str());
    } else if (ok) {
      std::printf("verify-model: OK, %zu model%s as saved\n", present, present == 1 ? "" : "s");
    } else {
      std::printf("verify-model: FAILED\n");
    }
  }
  return ok ? kExitOk : kExitFailure;
}

}  // namespace chatbot::cli
