// `chatbot check-model` and `chatbot verify-model`: is a model there, does it
// load, is it the model that was trained (ops/model_check.h); and
// `check-model --url`: is a running service healthy, which models does it
// answer with, how fast.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "ops/model_check.h"
#include "ops/model_check_report.h"

namespace chatbot::cli {
namespace {

struct CheckModelArgs {
  std::string url;      // a running service instead of the model folders
  std::string api_key;  // sent as "Authorization: Bearer KEY" with --url
  std::string model;    // only this model folder; empty: all
  int samples = -1;     // predictions timed (with --url: requests); -1: the defaults below
  bool json = false;
};

namespace json = boost::json;

// Predictions timed by default: locally, and through a running service
// (whose rate limit for requests without a key is 10 a second).
constexpr int kDefaultLocalSamples = 200;
constexpr int kDefaultServiceSamples = 10;

// Prints `report` as asked; the exit status is whether it passed.
int Print(const ops::ModelsReport& report, bool as_json) {
  std::fputs(as_json ? (json::serialize(report.json) + "\n").c_str() : report.text.c_str(), stdout);
  return report.ok ? kExitOk : kExitFailure;
}

int RunCheckModel(const GlobalOptions& global, const CheckModelArgs& args) {
  const Configuration config = LoadConfiguration(global);
  if (!args.url.empty()) {
    return Print(ops::CheckServiceReport(args.url, args.api_key,
                                         args.samples >= 0 ? args.samples : kDefaultServiceSamples),
                 args.json);
  }
  return Print(ops::CheckModels(config.settings(), args.model,
                                args.samples >= 0 ? args.samples : kDefaultLocalSamples),
               args.json);
}

int RunVerifyModel(const GlobalOptions& global, const CheckModelArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  // Problems are logged even when the report is JSON.
  return Print(ops::VerifyModels(config.settings(), args.model), args.json);
}

}  // namespace

void AddModelCheckCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto check = std::make_shared<CheckModelArgs>();
  auto* check_cmd = app.add_subcommand(
      "check-model",
      "Which models are present and loadable: versions, sizes, labels, held-out metrics and a "
      "latency sample; or, with --url, the same of a running service (exit 0 healthy, 1 not)");
  check_cmd->add_option("--url", check->url,
                        "Check the service at this URL (http://HOST:PORT) instead of the model "
                        "folders");
  check_cmd->add_option("--api-key", check->api_key,
                        "With --url: the API key to send (Authorization: Bearer)");
  check_cmd->add_option("--model", check->model, "Only this model folder (svm, bert, ...)");
  check_cmd
      ->add_option("--samples", check->samples,
                   "Predictions timed (default 200); with --url, requests (default 10)")
      ->check(CLI::Range(0, 100000));
  check_cmd->add_flag("--json", check->json, "Print the report as JSON");
  OnParse(check_cmd, run, [&global, check] { return RunCheckModel(global, *check); });

  auto verify = std::make_shared<CheckModelArgs>();
  auto* verify_cmd = app.add_subcommand(
      "verify-model",
      "Prove that each model is the one trained: checksums against the manifest, load, smoke "
      "test of the stored examples, held-out accuracy not below the recorded one (exit 0 "
      "verified, 1 any difference)");
  verify_cmd->add_option("--model", verify->model, "Only this model folder (svm, bert, ...)");
  verify_cmd->add_flag("--json", verify->json, "Print the report as JSON");
  OnParse(verify_cmd, run, [&global, verify] { return RunVerifyModel(global, *verify); });
}

}  // namespace chatbot::cli
