#include "ops/model_check_report.h"

#include <fmt/core.h>

#include "common/error.h"
#include "common/logging.h"
#include "common/strings.h"
#include "ops/http_probe.h"

namespace chatbot::ops {
namespace {

namespace json = boost::json;

// A JSON value as text: strings without their quotes.
std::string Plain(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return "?";
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
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

std::string LatencyLine(const nlu::LatencySummary& l) {
  return fmt::format("p50 {}, p90 {}, p99 {}, max {}", Micros(l.p50_us), Micros(l.p90_us),
                     Micros(l.p99_us), Micros(l.max_us));
}

json::value ParseBody(const ProbeResponse& r) {
  boost::system::error_code error;
  json::value value = json::parse(r.body, error);
  return error ? json::value(nullptr) : value;
}

}  // namespace

std::string StatusText(const ModelStatus& s) {
  const std::string head = fmt::format("model {} ({})", s.name, s.directory.string());
  if (!s.present) return head + ": not present\n";
  std::string out = head + ": " + (s.healthy() ? "healthy" : "NOT LOADABLE") + "\n";
  out += fmt::format("  format {} v{}, version {}, created {}\n", s.format.empty() ? "?" : s.format,
                     s.format_version, s.version.empty() ? "?" : s.version,
                     s.created_at.empty() ? "?" : s.created_at);
  if (!s.manifest_problem.empty()) out += "  manifest: " + s.manifest_problem + "\n";
  size_t bad = 0;
  for (const FileCheck& f : s.files) bad += f.problem.empty() ? 0 : 1;
  out += fmt::format("  files: {}, {}, {}\n", s.files.size(), HumanBytes(s.bytes),
                     bad == 0 ? "sizes and checksums as in the manifest"
                              : fmt::format("{} differ from the manifest", bad));
  for (const FileCheck& f : s.files) {
    if (!f.problem.empty()) out += "    " + f.name + ": " + f.problem + "\n";
  }
  if (s.part) {
    return out + fmt::format("  load: {:.0f} ms (a part of models: no labels of its own)\n",
                             s.load_seconds * 1000);
  }
  out += "  labels: " + LabelsLine(s.loaded ? s.labels : s.manifest_labels) + "\n";
  out += "  held-out: " + HeldOutLine(s.heldout_metrics) + "\n";
  if (!s.loaded) return out + "  load: FAILED: " + s.load_error + "\n";
  out += fmt::format("  load: {:.0f} ms", s.load_seconds * 1000);
  if (s.latency_samples > 0) {
    out +=
        fmt::format("; latency over {} predictions: {}", s.latency_samples, LatencyLine(s.latency));
  }
  return out + "\n";
}

std::string VerifyText(const VerifyReport& r) {
  const ModelStatus& s = r.status;
  const std::string head = fmt::format("verify {} ({})", s.name, s.directory.string());
  if (!s.present) return head + ": not present\n";
  const std::vector<std::string> problems = r.Problems();
  std::string out = head + ": " + (problems.empty() ? "OK" : "FAILED") + "\n";
  out += fmt::format("  version {}, {} files checked against the manifest\n",
                     s.version.empty() ? "?" : s.version, s.files.size());
  if (s.part) {
    out += "  load: ok (a part of models: no labels, smoke test or held-out data of its own)\n";
  } else if (s.loaded) {
    out += fmt::format("  load: ok, {} labels\n", s.labels.size());
    out += fmt::format("  smoke test: {} of {} stored examples predicted as when saved\n",
                       r.smoke_examples - r.smoke_mismatches.size(), r.smoke_examples);
    if (r.measured_is_heldout() && r.recorded_accuracy) {
      out += fmt::format(
          "  held-out: accuracy {:.2f}% on {} examples the model never learned, {:.2f}% recorded "
          "at training\n",
          r.measured_accuracy * 100, r.heldout_examples, *r.recorded_accuracy * 100);
    } else if (r.heldout_examples > 0) {
      // Not a held-out figure: the model learned these examples (or the
      // manifest does not say), so it only shows the model is unchanged.
      out += fmt::format(
          "  heldout.jsonl: accuracy {:.2f}% on {} examples{}{}\n", r.measured_accuracy * 100,
          r.heldout_examples,
          r.saved_accuracy ? fmt::format(" ({:.2f}% when saved)", *r.saved_accuracy * 100)
                           : std::string(),
          !r.heldout_learned   ? ", which the model may have learned (not recorded)"
          : *r.heldout_learned ? ", which the model learned when it was refitted: not a held-out "
                                 "figure"
                               : ", which the model never learned");
      if (r.recorded_accuracy) {
        out += fmt::format(
            "  held-out accuracy {:.2f}%, measured at training before the refit on a model that "
            "had not seen them\n",
            *r.recorded_accuracy * 100);
      }
    }
  }
  for (const std::string& p : problems) out += "  - " + p + "\n";
  return out;
}

ServiceCheck CheckService(const std::string& url, const std::string& api_key, int samples) {
  HttpProbe probe(url);
  if (!api_key.empty()) probe.AddHeader("Authorization", "Bearer " + api_key);
  ServiceCheck check;
  check.url = url;
  check.report = {{"url", url}};

  const ProbeResponse health = probe.Get("/health");
  check.health = ParseBody(health);
  check.report["health"] = {{"status", health.status}, {"body", check.health}};
  if (health.status != 200) {
    check.problems.push_back(fmt::format("/health answered {}: {}", health.status, health.body));
  }

  const ProbeResponse model = probe.Get("/v1/model");
  check.model = ParseBody(model);
  check.report["model"] = {{"status", model.status}, {"body", check.model}};
  if (model.status == 401 || model.status == 403) {
    // Not a fault of the service: the models need an operator key to see.
    check.notes.push_back(
        fmt::format("/v1/model answered {}: give an operator key with --api-key "
                    "to see the models",
                    model.status));
  } else if (model.status != 200) {
    check.problems.push_back(fmt::format("/v1/model answered {}: {}", model.status, model.body));
  }

  // The live sample: single /v1/parse requests on one connection, timed by
  // the client (network and server together).
  const std::vector<std::string> texts = {"where is my order", "hello", "can I pay with paypal",
                                          "I want to return my shoes",
                                          "what is the meaning of life"};
  int failures = 0;
  std::string failure;
  for (int i = 0; i < samples; ++i) {
    const ProbeResponse r = probe.PostJson(
        "/v1/parse", json::serialize(json::object{{"text", texts[i % texts.size()]}}));
    if (r.status != 200) {
      ++failures;
      if (failure.empty()) failure = fmt::format("{}: {}", r.status, r.body);
    } else {
      check.latencies_us.push_back(r.seconds * 1e6);
    }
  }
  check.latency = nlu::SummarizeLatencies(check.latencies_us);
  if (failures > 0) {
    check.problems.push_back(fmt::format("{} of {} /v1/parse requests failed ({}){}", failures,
                                         samples, failure,
                                         failure.starts_with("401") || failure.starts_with("403")
                                             ? "; give a client key with --api-key"
                                             : ""));
  }
  check.report["latency_us"] = {{"samples", check.latencies_us.size()},
                                {"p50", check.latency.p50_us},
                                {"p90", check.latency.p90_us},
                                {"p99", check.latency.p99_us},
                                {"max", check.latency.max_us}};
  check.report["healthy"] = check.healthy();
  check.report["problems"] = json::array(check.problems.begin(), check.problems.end());
  check.report["notes"] = json::array(check.notes.begin(), check.notes.end());
  return check;
}

std::string ServiceCheckText(const ServiceCheck& check) {
  std::string summary;
  if (check.health.is_object()) {
    const json::object& h = check.health.as_object();
    summary = fmt::format("status {}, version {}, up {:.0f} s, storage {}", Plain(h, "status"),
                          Plain(h, "version"), Number(h, "uptime_s"), Plain(h, "storage"));
  }
  std::string out = fmt::format("service {}: {} ({})\n", check.url,
                                check.healthy() ? "healthy" : "UNHEALTHY", summary);
  if (check.model.is_object() && check.model.as_object().contains("models") &&
      check.model.as_object().at("models").is_object()) {
    for (const auto& [name, info_value] : check.model.as_object().at("models").as_object()) {
      if (!info_value.is_object()) continue;
      const json::object& info = info_value.as_object();
      const json::value* labels = info.if_contains("labels");
      const json::value* metrics = info.if_contains("heldout_metrics");
      out += fmt::format(
          "  {}: version {}, loaded {}, {} labels; held-out {}\n", std::string(name),
          Plain(info, "version"), Plain(info, "loaded_at"),
          labels && labels->is_array() ? labels->as_array().size() : size_t{0},
          metrics && metrics->is_object() ? HeldOutLine(metrics->as_object()) : "none recorded");
    }
  }
  if (!check.latencies_us.empty()) {
    out += fmt::format("  latency over {} /v1/parse requests: {}\n", check.latencies_us.size(),
                       LatencyLine(check.latency));
  }
  for (const std::string& n : check.notes) out += "  note: " + n + "\n";
  for (const std::string& p : check.problems) out += "  - " + p + "\n";
  return out;
}

ModelsReport CheckServiceReport(const std::string& url, const std::string& api_key, int samples) {
  try {
    ServiceCheck check = CheckService(url, api_key, samples);
    return {check.healthy(), ServiceCheckText(check), std::move(check.report)};
  } catch (const IoError& e) {
    return {false, fmt::format("service {}: UNREACHABLE: {}\n", url, e.what()),
            json::object{{"url", url}, {"healthy", false}, {"problems", {e.what()}}}};
  }
}

namespace {

// The model folders to look at: one (--model) or all.
std::vector<std::string> Names(const Settings& settings, const std::string& only) {
  if (!only.empty()) {
    if (only.find('/') != std::string::npos || only == "." || only == "..") {
      throw ConfigError("--model " + only + ": a model folder name (svm, bert, ...)");
    }
    return {only};
  }
  return ModelNames(settings.paths.models);
}

}  // namespace

ModelsReport CheckModels(const Settings& settings, const std::string& only, int samples) {
  std::vector<ModelStatus> statuses;
  for (const std::string& name : Names(settings, only)) {
    statuses.push_back(
        InspectModel(std::filesystem::path(settings.paths.models) / name, name, samples));
  }
  size_t present = 0;
  size_t healthy = 0;
  for (const ModelStatus& s : statuses) {
    present += s.present ? 1 : 0;
    healthy += s.healthy() ? 1 : 0;
  }
  ModelsReport report;
  report.ok = present > 0 && healthy == present;
  json::array models;
  for (const ModelStatus& s : statuses) models.push_back(StatusToJson(s));
  report.json = {{"healthy", report.ok}, {"models", std::move(models)}};
  for (const ModelStatus& s : statuses) report.text += StatusText(s);
  if (present == 0) {
    report.text += fmt::format("UNHEALTHY: no model in {} (train one: chatbot train)\n",
                               settings.paths.models);
  } else if (report.ok) {
    report.text += fmt::format("healthy: {} model{} loadable\n", healthy, healthy == 1 ? "" : "s");
  } else {
    report.text +=
        fmt::format("UNHEALTHY: {} of {} present models do not load\n", present - healthy, present);
  }
  return report;
}

ModelsReport VerifyModels(const Settings& settings, const std::string& only) {
  std::vector<VerifyReport> reports;
  for (const std::string& name : Names(settings, only)) {
    reports.push_back(VerifyModel(std::filesystem::path(settings.paths.models) / name, name));
  }
  size_t present = 0;
  size_t failed = 0;
  for (const VerifyReport& r : reports) {
    if (!r.status.present) continue;
    ++present;
    if (!r.ok()) ++failed;
  }
  ModelsReport report;
  // A named model that is absent is a failure; absent defaults are not.
  report.ok = present > 0 && failed == 0 && (only.empty() || present == reports.size());
  json::array models;
  for (const VerifyReport& r : reports) models.push_back(VerifyToJson(r));
  report.json = {{"ok", report.ok}, {"models", std::move(models)}};
  for (const VerifyReport& r : reports) {
    report.text += VerifyText(r);
    const std::vector<std::string> problems = r.Problems();
    if (r.status.present && !problems.empty()) {
      AppLog()->error("verify-model {}: {} problem(s): {}", r.status.name, problems.size(),
                      problems.front());
    }
  }
  if (present == 0) {
    report.text += fmt::format("verify-model: FAILED: no model in {}\n", settings.paths.models);
  } else if (report.ok) {
    report.text +=
        fmt::format("verify-model: OK, {} model{} as saved\n", present, present == 1 ? "" : "s");
  } else {
    report.text += "verify-model: FAILED\n";
  }
  return report;
}

}  // namespace chatbot::ops
