// The reports of `chatbot check-model` and `chatbot verify-model` as people
// read them, and the check of a running service (`check-model --url`):
// /health, /v1/model and a live latency sample of single /v1/parse
// requests. The commands print what these return.
#ifndef CHATBOT_OPS_MODEL_CHECK_REPORT_H_
#define CHATBOT_OPS_MODEL_CHECK_REPORT_H_

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "common/config.h"
#include "nlu/evaluation.h"
#include "ops/model_check.h"

namespace chatbot::ops {

// A model folder's check: present, files, labels, held-out metrics, load
// and latency; lines ending in '\n'.
std::string StatusText(const ModelStatus& status);

// A model folder's verification; lines ending in '\n'.
std::string VerifyText(const VerifyReport& report);

struct ServiceCheck {
  std::string url;
  std::vector<std::string> problems;  // what makes the service unhealthy
  std::vector<std::string> notes;     // what could not be checked, and why
  boost::json::value health;          // GET /health's body (null when not JSON)
  boost::json::value model;           // GET /v1/model's body
  std::vector<double> latencies_us;   // of the /v1/parse requests that succeeded
  nlu::LatencySummary latency;
  boost::json::object report;  // all of it, for --json

  bool healthy() const { return problems.empty(); }
};

// Checks the service at `url` with `samples` timed /v1/parse requests;
// `api_key` (when not empty) is sent as a bearer token. Throws IoError when
// the service cannot be reached.
ServiceCheck CheckService(const std::string& url, const std::string& api_key, int samples);

// The check as people read it; lines ending in '\n'.
std::string ServiceCheckText(const ServiceCheck& check);

// The whole check of a running service, or the local check or
// verification of the model folders under [paths] models: whether it
// passed, and the report in both forms.
struct ModelsReport {
  bool ok = false;
  std::string text;
  boost::json::object json;
};
// CheckService's report, healthy or not; a service that cannot be reached
// is reported UNREACHABLE (not healthy) with the reason.
ModelsReport CheckServiceReport(const std::string& url, const std::string& api_key, int samples);
// Every model folder, or only `only` (a folder name: ConfigError for a path).
// Healthy when some model is present and every present one loads; `samples`
// predictions are timed.
ModelsReport CheckModels(const Settings& settings, const std::string& only, int samples);
// Passed when some model is present and every present one is as saved, and
// `only`, when given, is present; problems are also logged.
ModelsReport VerifyModels(const Settings& settings, const std::string& only);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_MODEL_CHECK_REPORT_H_
