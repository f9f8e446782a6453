// `chatbot check-model` and `chatbot verify-model`: is a model there, does it
// load, is it the model that was trained (ops/model_check.h); and
// `check-model --url`: is a running service healthy, which models does it
// answer with, how fast.
#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "cli/ops_commands.h"
#include "common/error.h"
#include "ops/model_check.h"
#include "ops/model_check_report.h"

namespace chatbot::cli {
namespace {

namespace json = boost::json;

// Predictions timed by default: locally, and through a running service
// (whose rate limit for requests without a key is 10 a second).
constexpr int kDefaultLocalSamples = 200;
constexpr int kDefaultServiceSamples = 10;

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
  const ops::ModelsReport report = ops::CheckModels(
      config.settings(), args.model, args.samples >= 0 ? args.samples : kDefaultLocalSamples);
  std::fputs(args.json ? (json::serialize(report.json) + "\n").c_str() : report.text.c_str(),
             stdout);
  return report.ok ? kExitOk : kExitFailure;
}

int RunVerifyModel(const GlobalOptions& global, const VerifyModelArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  // Problems are logged even when the report is JSON.
  const ops::ModelsReport report = ops::VerifyModels(config.settings(), args.model);
  std::fputs(args.json ? (json::serialize(report.json) + "\n").c_str() : report.text.c_str(),
             stdout);
  return report.ok ? kExitOk : kExitFailure;
}

}  // namespace chatbot::cli
