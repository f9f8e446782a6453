// `chatbot check-model` and `chatbot verify-model`: is a model there, does it
// load, is it the model that was trained (ops/model_check.h); and
// `check-model --url`: is a running service healthy, which models does it
// answer with, how fast.
#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/ops_commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "nlu/evaluation.h"
#include "ops/http_probe.h"
#include "ops/model_check.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Predictions timed by default: locally, and through a running service
// (whose rate limit for requests without a key is 10 a second).
constexpr int kDefaultLocalSamples = 200;
constexpr int kDefaultServiceSamples = 10;

// A JSON value as text: strings without their quotes.
std::string Plain(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return "?";
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

std::string Micros(double us) {
  return us < 1000 ? fmt::format("{:.0f} µs", us) : fmt::format("{:.2f} ms", us / 1000);
}

double Number(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

std::string HeldOutLine(const json::object& m) {
  if (m.empty()) return "none recorded";
  std::string line =
      fmt::format("accuracy {:.2f}%, in-scope accuracy {:.2f}%, macro-F1 {:.2f}% ({} examples)",
                  Number(m, "accuracy") * 100, Number(m, "in_scope_accuracy") * 100,
                  Number(m, "macro_f1") * 100, static_cast<int64_t>(Number(m, "examples")));
  if (const json::value* oos = m.if_contains("has_out_of_scope");
      oos && oos->is_bool() && oos->as_bool()) {
    line += fmt::format("; out-of-scope recall {:.2f}%, precision {:.2f}%",
                        Number(m, "oos_recall") * 100, Number(m, "oos_precision") * 100);
  }
  return line;
}

std::string LabelsLine(const std::vector<std::string>& labels) {
  std::string line = std::to_string(labels.size());
  if (labels.empty()) return line;
  line += " (";
  for (size_t i = 0; i < labels.size() && i < 6; ++i) line += (i ? ", " : "") + labels[i];
  if (labels.size() > 6) line += ", ...";
  return line + ")";
}

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

void PrintStatus(const ops::ModelStatus& s) {
  if (!s.present) {
    std::printf("model %s (%s): not present\n", s.name.c_str(), s.directory.c_str());
    return;
  }
  std::printf("model %s (%s): %s\n", s.name.c_str(), s.directory.c_str(),
              s.healthy() ? "healthy" : "NOT LOADABLE");
  std::printf("  format %s v%lld, version %s, created %s\n",
              s.format.empty() ? "?" : s.format.c_str(), static_cast<long long>(s.format_version),
              s.version.empty() ? "?" : s.version.c_str(),
              s.created_at.empty() ? "?" : s.created_at.c_str());
  if (!s.manifest_problem.empty()) std::printf("  manifest: %s\n", s.manifest_problem.c_str());
  size_t bad = 0;
  for (const ops::FileCheck& f : s.files) bad += f.problem.empty() ? 0 : 1;
  std::printf("  files: %zu, %s, %s\n", s.files.size(), HumanBytes(s.bytes).c_str(),
              bad == 0 ? "sizes and checksums as in the manifest"
                       : fmt::format("{} differ from the manifest", bad).c_str());
  for (const ops::FileCheck& f : s.files) {
    if (!f.problem.empty()) std::printf("    %s: %s\n", f.name.c_str(), f.problem.c_str());
  }
  std::printf("  labels: %s\n", LabelsLine(s.loaded ? s.labels : s.manifest_labels).c_str());
  std::printf("  held-out: %s\n", HeldOutLine(s.heldout_metrics).c_str());
  if (!s.loaded) {
    std::printf("  load: FAILED: %s\n", s.load_error.c_str());
    return;
  }
  std::printf("  load: %.0f ms", s.load_seconds * 1000);
  if (s.latency_samples > 0) {
    std::printf("; latency over %d predictions: p50 %s, p90 %s, p99 %s, max %s", s.latency_samples,
                Micros(s.latency.p50_us).c_str(), Micros(s.latency.p90_us).c_str(),
                Micros(s.latency.p99_us).c_str(), Micros(s.latency.max_us).c_str());
  }
  std::printf("\n");
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
    for (const ops::ModelStatus& s : statuses) PrintStatus(s);
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

json::value ParseBody(const ops::ProbeResponse& r) {
  boost::system::error_code error;
  json::value value = json::parse(r.body, error);
  return error ? json::value(nullptr) : value;
}

int CheckService(const CheckModelArgs& args) {
  ops::HttpProbe probe(args.url);
  if (!args.api_key.empty()) probe.AddHeader("Authorization", "Bearer " + args.api_key);
  std::vector<std::string> problems;
  json::object report{{"url", args.url}};

  const ops::ProbeResponse health = probe.Get("/health");
  const json::value health_body = ParseBody(health);
  report["health"] = {{"status", health.status}, {"body", health_body}};
  if (health.status != 200) {
    problems.push_back(fmt::format("/health answered {}: {}", health.status, health.body));
  }

  const ops::ProbeResponse model = probe.Get("/v1/model");
  const json::value model_body = ParseBody(model);
  report["model"] = {{"status", model.status}, {"body", model_body}};
  std::vector<std::string> notes;
  if (model.status == 401 || model.status == 403) {
    // Not a fault of the service: the models need an operator key to see.
    notes.push_back(
        fmt::format("/v1/model answered {}: give an operator key with --api-key "
                    "to see the models",
                    model.status));
  } else if (model.status != 200) {
    problems.push_back(fmt::format("/v1/model answered {}: {}", model.status, model.body));
  }

  // The live sample: single /v1/parse requests on one connection, timed by
  // the client (network and server together).
  const std::vector<std::string> texts = {"where is my order", "hello", "can I pay with paypal",
                                          "I want to return my shoes",
                                          "what is the meaning of life"};
  std::vector<double> latencies;
  int failures = 0;
  std::string failure;
  const int samples = args.samples >= 0 ? args.samples : kDefaultServiceSamples;
  for (int i = 0; i < samples; ++i) {
    const ops::ProbeResponse r = probe.PostJson(
        "/v1/parse", json::serialize(json::object{{"text", texts[i % texts.size()]}}));
    if (r.status != 200) {
      ++failures;
      if (failure.empty()) failure = fmt::format("{}: {}", r.status, r.body);
    } else {
      latencies.push_back(r.seconds * 1e6);
    }
  }
  const nlu::LatencySummary latency = nlu::SummarizeLatencies(latencies);
  if (failures > 0) {
    problems.push_back(fmt::format("{} of {} /v1/parse requests failed ({}){}", failures, samples,
                                   failure,
                                   failure.starts_with("401") || failure.starts_with("403")
                                       ? "; give a client key with --api-key"
                                       : ""));
  }
  report["latency_us"] = {{"samples", latencies.size()},
                          {"p50", latency.p50_us},
                          {"p90", latency.p90_us},
                          {"p99", latency.p99_us},
                          {"max", latency.max_us}};
  report["healthy"] = problems.empty();
  report["problems"] = json::array(problems.begin(), problems.end());
  report["notes"] = json::array(notes.begin(), notes.end());

  if (args.json) {
    std::printf("%s\n", json::serialize(report).c_str());
    return problems.empty() ? kExitOk : kExitFailure;
  }
  std::string summary;
  if (health_body.is_object()) {
    const json::object& h = health_body.as_object();
    summary = fmt::format("status {}, version {}, up {:.0f} s, storage {}", Plain(h, "status"),
                          Plain(h, "version"), Number(h, "uptime_s"), Plain(h, "storage"));
  }
  std::printf("service %s: %s (%s)\n", args.url.c_str(), problems.empty() ? "healthy" : "UNHEALTHY",
              summary.c_str());
  if (model_body.is_object() && model_body.as_object().contains("models") &&
      model_body.as_object().at("models").is_object()) {
    for (const auto& [name, info_value] : model_body.as_object().at("models").as_object()) {
      if (!info_value.is_object()) continue;
      const json::object& info = info_value.as_object();
      const json::value* labels = info.if_contains("labels");
      const json::value* metrics = info.if_contains("heldout_metrics");
      std::printf("  %s: version %s, loaded %s, %zu labels; held-out %s\n",
                  std::string(name).c_str(), Plain(info, "version").c_str(),
                  Plain(info, "loaded_at").c_str(),
                  labels && labels->is_array() ? labels->as_array().size() : size_t{0},
                  metrics && metrics->is_object() ? HeldOutLine(metrics->as_object()).c_str()
                                                  : "none recorded");
    }
  }
  if (!latencies.empty()) {
    std::printf("  latency over %zu /v1/parse requests: p50 %s, p90 %s, p99 %s, max %s\n",
                latencies.size(), Micros(latency.p50_us).c_str(), Micros(latency.p90_us).c_str(),
                Micros(latency.p99_us).c_str(), Micros(latency.max_us).c_str());
  }
  for (const std::string& n : notes) std::printf("  note: %s\n", n.c_str());
  for (const std::string& p : problems) std::printf("  - %s\n", p.c_str());
  return problems.empty() ? kExitOk : kExitFailure;
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
      const ops::ModelStatus& s = r.status;
      if (!s.present) {
        std::printf("verify %s (%s): not present\n", s.name.c_str(), s.directory.c_str());
        continue;
      }
      const std::vector<std::string> problems = r.Problems();
      std::printf("verify %s (%s): %s\n", s.name.c_str(), s.directory.c_str(),
                  problems.empty() ? "OK" : "FAILED");
      std::printf("  version %s, %zu files checked against the manifest\n", s.version.c_str(),
                  s.files.size());
      if (s.loaded) {
        std::printf("  load: ok, %zu labels\n", s.labels.size());
        std::printf("  smoke test: %zu of %zu stored examples predicted as when saved\n",
                    r.smoke_examples - r.smoke_mismatches.size(), r.smoke_examples);
        if (r.recorded_accuracy) {
          std::printf("  held-out: accuracy %.2f%% on %zu examples, %.2f%% recorded at training\n",
                      r.measured_accuracy * 100, r.heldout_examples, *r.recorded_accuracy * 100);
        }
      }
      for (const std::string& p : problems) std::printf("  - %s\n", p.c_str());
      if (!problems.empty()) {
        AppLog()->error("verify-model {}: {} problem(s): {}", s.name, problems.size(),
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
