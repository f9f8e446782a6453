#include "ops/model_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"
#include "nlu/bert_intent_model.h"
#include "nlu/model_manifest.h"
#include "nlu/svm_intent_model.h"
#include "nlu/use_encoder_files.h"
#include "nlu/use_intent_model.h"

namespace chatbot::ops {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr char kHeldOutFile[] = "heldout.jsonl";
constexpr char kSmokeFile[] = "smoke.jsonl";
// Mismatching smoke examples listed in a report; the count is always given.
constexpr size_t kMaxListedMismatches = 20;

std::mutex& LoadersMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, ModelLoader>& Loaders() {
  static std::map<std::string, ModelLoader> loaders = {
      {nlu::kSvmModelFormat,
       [](const fs::path& dir) -> std::unique_ptr<nlu::IntentClassifier> {
         return nlu::SvmIntentModel::Load(dir);
       }},
      {nlu::kBertModelFormat,
       [](const fs::path& dir) -> std::unique_ptr<nlu::IntentClassifier> {
         return nlu::BertIntentModel::Load(dir);
       }},
      {nlu::kUseModelFormat,
       [](const fs::path& dir) -> std::unique_ptr<nlu::IntentClassifier> {
         return nlu::UseIntentModel::Load(dir);
       }},
  };
  return loaders;
}

// Formats of parts that models are built from rather than models; loading
// one proves its files make what they claim (throws ModelError otherwise).
bool LoadPart(const std::string& format, const fs::path& dir) {
  if (format != nlu::kEncoderFormat) return false;
  nlu::LoadEncoderFrom(dir);
  return true;
}

std::optional<ModelLoader> FindLoader(const std::string& format) {
  std::lock_guard lock(LoadersMutex());
  const auto it = Loaders().find(format);
  if (it == Loaders().end()) return std::nullopt;
  return it->second;
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<uint64_t> UnsignedField(const json::value& v) {
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<uint64_t>(v.as_int64());
  return std::nullopt;
}

std::optional<double> NumberField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return std::nullopt;
}

struct StoredExample {
  std::string text;
  std::string intent;
  std::string predicted;  // smoke.jsonl only
};

// JSON Lines of {"text","intent"[,"predicted"]}. Throws DataError naming the
// file and line.
std::vector<StoredExample> ReadExamples(const fs::path& path, bool with_prediction) {
  const std::string contents = ReadFile(path);
  std::vector<StoredExample> examples;
  size_t line_number = 0;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string::npos) end = contents.size();
    const std::string_view line(contents.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), line_number);
    boost::system::error_code error;
    const json::value value = json::parse(line, error);
    if (error || !value.is_object()) throw DataError(where + ": not a JSON object");
    const json::object& object = value.as_object();
    StoredExample e{StringField(object, "text"), StringField(object, "intent"),
                    StringField(object, "predicted")};
    if (e.text.empty() || e.intent.empty() || (with_prediction && e.predicted.empty())) {
      throw DataError(where + (with_prediction ? ": needs \"text\", \"intent\" and \"predicted\""
                                               : ": needs \"text\" and \"intent\""));
    }
    examples.push_back(std::move(e));
  }
  return examples;
}

// Reads the manifest and checks the files it lists (size, then SHA-256).
void CheckManifestAndFiles(ModelStatus* status) {
  const fs::path manifest_path = status->directory / nlu::kManifestFile;
  json::object manifest;
  try {
    boost::system::error_code error;
    json::value parsed = json::parse(ReadFile(manifest_path), error);
    if (error || !parsed.is_object()) {
      status->manifest_problem = manifest_path.string() + ": not a JSON object";
      return;
    }
    manifest = std::move(parsed.as_object());
  } catch (const Error& e) {
    status->manifest_problem = e.what();
    return;
  }
  status->format = StringField(manifest, "format");
  if (const json::value* v = manifest.if_contains("format_version"); v && v->is_int64()) {
    status->format_version = v->as_int64();
  }
  status->version = StringField(manifest, "version");
  status->created_at = StringField(manifest, "created_at");
  if (const json::value* labels = manifest.if_contains("labels"); labels && labels->is_array()) {
    for (const json::value& label : labels->as_array()) {
      if (label.is_string()) status->manifest_labels.emplace_back(label.as_string());
    }
  }
  if (const json::value* m = manifest.if_contains("heldout_metrics"); m && m->is_object()) {
    status->heldout_metrics = m->as_object();
  }
  if (const json::value* learned = manifest.if_contains("heldout_learned");
      learned != nullptr && learned->is_bool()) {
    status->heldout_learned = learned->as_bool();
  }
  status->saved_heldout_accuracy = NumberField(manifest, "heldout_file_accuracy");
  const json::value* files = manifest.if_contains("files");
  if (files == nullptr || !files->is_object() || files->as_object().empty()) {
    status->manifest_problem = manifest_path.string() + ": lists no files";
    return;
  }
  status->files_ok = true;
  std::set<std::string> listed;
  for (const auto& [key, entry] : files->as_object()) {
    FileCheck check;
    check.name = std::string(key);
    listed.insert(check.name);
    const json::object* e = entry.if_object();
    const json::value* bytes = e ? e->if_contains("bytes") : nullptr;
    const std::string sha = e ? StringField(*e, "sha256") : "";
    const std::optional<uint64_t> expected = bytes ? UnsignedField(*bytes) : std::nullopt;
    if (!expected || sha.empty() || check.name.find('/') != std::string::npos ||
        check.name == "..") {
      check.problem = "bad manifest entry";
    } else {
      check.expected_bytes = *expected;
      status->bytes += *expected;
      const fs::path file = status->directory / check.name;
      std::error_code error;
      check.bytes = fs::file_size(file, error);
      if (error) {
        check.problem = "missing";
      } else if (check.bytes != *expected) {
        check.problem =
            fmt::format("{} bytes, the manifest says {}", check.bytes, check.expected_bytes);
      } else {
        try {
          if (Sha256FileHex(file) != sha) check.problem = "checksum differs from the manifest";
        } catch (const Error& err) {
          check.problem = std::string("unreadable: ") + err.what();
        }
      }
    }
    if (!check.problem.empty()) status->files_ok = false;
    status->files.push_back(std::move(check));
  }
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(status->directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name != nlu::kManifestFile && !listed.count(name)) status->unlisted_files.push_back(name);
  }
  std::sort(status->unlisted_files.begin(), status->unlisted_files.end());
}

std::vector<std::string> LatencyTexts(const fs::path& dir) {
  std::vector<std::string> texts;
  for (const char* file : {kHeldOutFile, kSmokeFile}) {
    try {
      for (StoredExample& e : ReadExamples(dir / file, false)) texts.push_back(std::move(e.text));
    } catch (const Error&) {
      // A damaged file is verify-model's business; time what there is.
    }
  }
  if (texts.empty()) {
    texts = {"where is my order", "hello", "can I pay with paypal", "what is the weather like"};
  }
  return texts;
}

}  // namespace

void RegisterModelLoader(const std::string& format, ModelLoader loader) {
  std::lock_guard lock(LoadersMutex());
  Loaders()[format] = std::move(loader);
}

std::vector<std::string> ModelNames(const fs::path& models_dir) {
  std::vector<std::string> names = {"svm", "bert"};
  std::vector<std::string> others;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(models_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || name == "svm" || name == "bert") continue;
    // Staging directories of an interrupted save ("svm.new.123") are not models.
    if (name.find(".new.") != std::string::npos) continue;
    std::error_code e;
    if (entry.is_directory(e) && fs::exists(entry.path() / nlu::kManifestFile, e)) {
      others.push_back(name);
    }
  }
  std::sort(others.begin(), others.end());
  names.insert(names.end(), others.begin(), others.end());
  return names;
}

ModelStatus InspectModel(const fs::path& dir, const std::string& name, int latency_samples) {
  ModelStatus status;
  status.name = name;
  status.directory = dir;
  std::error_code error;
  status.present = fs::exists(dir / nlu::kManifestFile, error);
  if (!status.present) return status;
  CheckManifestAndFiles(&status);

  const auto start = std::chrono::steady_clock::now();
  try {
    if (LoadPart(status.format, dir)) {
      status.load_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      status.loaded = status.part = true;
      return status;
    }
  } catch (const std::exception& e) {
    status.load_error = e.what();
    return status;
  }
  const std::optional<ModelLoader> loader = FindLoader(status.format);
  if (!loader) {
    status.load_error = status.format.empty()
                            ? "the manifest names no format"
                            : "format '" + status.format + "' is not supported by this build";
    return status;
  }
  try {
    std::shared_ptr<const nlu::IntentClassifier> model = (*loader)(dir);
    status.load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    status.labels = model->labels();
    status.model = std::move(model);
    status.loaded = true;
  } catch (const std::exception& e) {
    status.load_error = e.what();
    return status;
  }

  if (latency_samples > 0) {
    const std::vector<std::string> texts = LatencyTexts(dir);
    // One pass to warm caches and thread-local buffers, then the timed one.
    for (size_t i = 0; i < std::min<size_t>(texts.size(), 20); ++i)
      status.model->Predict(texts[i], 1);
    std::vector<double> latencies;
    latencies.reserve(latency_samples);
    for (int i = 0; i < latency_samples; ++i) {
      const std::string& text = texts[static_cast<size_t>(i) % texts.size()];
      const auto t0 = std::chrono::steady_clock::now();
      status.model->Predict(text, 1);
      latencies.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    status.latency = nlu::SummarizeLatencies(std::move(latencies));
    status.latency_samples = latency_samples;
  }
  return status;
}

VerifyReport VerifyModel(const fs::path& dir, const std::string& name) {
  VerifyReport report;
  report.status = InspectModel(dir, name, 0);
  const ModelStatus& status = report.status;
  if (!status.loaded || status.part) return report;
  const nlu::IntentClassifier& model = *status.model;

  if (!status.manifest_labels.empty() && status.manifest_labels != status.labels) {
    report.labels_problem =
        fmt::format("the model has {} labels, the manifest lists {} different ones",
                    status.labels.size(), status.manifest_labels.size());
  }

  try {
    const std::vector<StoredExample> smoke = ReadExamples(dir / kSmokeFile, true);
    report.smoke_examples = smoke.size();
    if (smoke.empty()) report.smoke_problem = std::string(kSmokeFile) + " holds no examples";
    for (const StoredExample& e : smoke) {
      std::string got = model.Predict(e.text, 1).intent;
      if (got != e.predicted) report.smoke_mismatches.push_back({e.text, e.predicted, got});
    }
  } catch (const Error& e) {
    report.smoke_problem = e.what();
  }

  try {
    const std::vector<StoredExample> heldout = ReadExamples(dir / kHeldOutFile, false);
    report.heldout_examples = heldout.size();
    report.recorded_accuracy = NumberField(status.heldout_metrics, "accuracy");
    report.heldout_learned = status.heldout_learned;
    report.saved_accuracy = status.saved_heldout_accuracy;
    if (!heldout.empty()) {
      std::vector<nlu::TrainingExample> examples;
      examples.reserve(heldout.size());
      for (const StoredExample& e : heldout) examples.push_back({e.text, e.intent, ""});
      report.measured_accuracy = nlu::Evaluate(model, examples).accuracy;
    }
    if (heldout.empty()) {
      report.heldout_problem = std::string(kHeldOutFile) + " holds no examples";
    } else if (!report.recorded_accuracy) {
      report.heldout_problem = "the manifest records no held-out accuracy";
    }
  } catch (const Error& e) {
    report.heldout_problem = e.what();
  }
  return report;
}

std::vector<std::string> VerifyReport::Problems() const {
  std::vector<std::string> problems;
  const ModelStatus& s = status;
  if (!s.present) {
    problems.push_back(s.directory.string() + ": no model (no manifest.json)");
    return problems;
  }
  if (!s.manifest_problem.empty()) problems.push_back(s.manifest_problem);
  for (const FileCheck& f : s.files) {
    if (!f.problem.empty()) problems.push_back(f.name + ": " + f.problem);
  }
  for (const std::string& f : s.unlisted_files) {
    problems.push_back(f + ": not listed in the manifest");
  }
  if (!s.loaded) {
    problems.push_back("does not load: " + s.load_error);
    return problems;
  }
  if (!labels_problem.empty()) problems.push_back(labels_problem);
  if (!smoke_problem.empty()) problems.push_back("smoke test: " + smoke_problem);
  if (!smoke_mismatches.empty()) {
    std::string line = fmt::format("smoke test: {} of {} stored examples are predicted differently",
                                   smoke_mismatches.size(), smoke_examples);
    for (size_t i = 0; i < smoke_mismatches.size() && i < kMaxListedMismatches; ++i) {
      const SmokeMismatch& m = smoke_mismatches[i];
      line += fmt::format("\n    \"{}\": saved {}, now {}", m.text, m.expected, m.got);
    }
    if (smoke_mismatches.size() > kMaxListedMismatches) {
      line += fmt::format("\n    ... and {} more", smoke_mismatches.size() - kMaxListedMismatches);
    }
    problems.push_back(line);
  }
  if (!heldout_problem.empty()) problems.push_back("held-out check: " + heldout_problem);
  // Accuracies are fractions of whole examples: equal ones may differ in the
  // last bits after a JSON round trip, never by a whole example.
  const double tolerance = 0.5 / std::max<double>(1, static_cast<double>(heldout_examples));
  const std::optional<double> expected = saved_accuracy ? saved_accuracy : recorded_accuracy;
  if (expected && heldout_examples > 0 && measured_accuracy + tolerance < *expected) {
    problems.push_back(
        fmt::format("{} {:.2f}% on {} examples is lower than the {:.2f}% {}",
                    measured_is_heldout() ? "held-out accuracy" : "accuracy on heldout.jsonl",
                    measured_accuracy * 100, heldout_examples, *expected * 100,
                    saved_accuracy ? "when the model was saved" : "recorded at training"));
  }
  return problems;
}

json::object StatusToJson(const ModelStatus& s) {
  json::object out{{"name", s.name}, {"directory", s.directory.string()}, {"present", s.present}};
  if (!s.present) return out;
  out["healthy"] = s.healthy();
  out["format"] = s.format;
  out["format_version"] = s.format_version;
  out["version"] = s.version;
  out["created_at"] = s.created_at;
  out["bytes"] = s.bytes;
  json::array files;
  for (const FileCheck& f : s.files) {
    json::object file{{"name", f.name}, {"bytes", f.bytes}, {"ok", f.problem.empty()}};
    if (!f.problem.empty()) file["problem"] = f.problem;
    files.push_back(std::move(file));
  }
  out["files"] = std::move(files);
  out["files_ok"] = s.files_ok;
  if (!s.manifest_problem.empty()) out["manifest_problem"] = s.manifest_problem;
  out["loaded"] = s.loaded;
  if (!s.loaded) out["load_error"] = s.load_error;
  out["load_seconds"] = s.load_seconds;
  const std::vector<std::string>& labels = s.loaded ? s.labels : s.manifest_labels;
  out["labels"] = json::array(labels.begin(), labels.end());
  out["heldout_metrics"] = json::object{};
  for (const char* key :
       {"examples", "accuracy", "in_scope_accuracy", "macro_f1", "oos_recall", "oos_precision"}) {
    if (const json::value* v = s.heldout_metrics.if_contains(key)) {
      out["heldout_metrics"].as_object()[key] = *v;
    }
  }
  if (s.latency_samples > 0) {
    out["latency_us"] = {{"samples", s.latency_samples}, {"mean", s.latency.mean_us},
                         {"p50", s.latency.p50_us},      {"p90", s.latency.p90_us},
                         {"p99", s.latency.p99_us},      {"max", s.latency.max_us}};
  }
  return out;
}

json::object VerifyToJson(const VerifyReport& r) {
  json::object out = StatusToJson(r.status);
  out.erase("labels");
  out["ok"] = r.ok();
  const std::vector<std::string> problems = r.Problems();
  out["problems"] = json::array(problems.begin(), problems.end());
  if (!r.status.loaded) return out;
  json::array mismatches;
  for (const SmokeMismatch& m : r.smoke_mismatches) {
    mismatches.push_back({{"text", m.text}, {"expected", m.expected}, {"got", m.got}});
  }
  out["smoke"] = {{"examples", r.smoke_examples}, {"mismatches", std::move(mismatches)}};
  json::object heldout{{"examples", r.heldout_examples},
                       {"measured_accuracy", r.measured_accuracy}};
  heldout["recorded_accuracy"] =
      r.recorded_accuracy ? json::value(*r.recorded_accuracy) : json::value(nullptr);
  heldout["learned_by_model"] =
      r.heldout_learned ? json::value(*r.heldout_learned) : json::value(nullptr);
  heldout["saved_accuracy"] =
      r.saved_accuracy ? json::value(*r.saved_accuracy) : json::value(nullptr);
  heldout["measured_is_heldout"] = r.measured_is_heldout();
  out["heldout"] = std::move(heldout);
  return out;
}

}  // namespace chatbot::ops
