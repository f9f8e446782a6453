// What `chatbot check-model` and `chatbot verify-model` look at, for any
// model directory with a manifest.json (nlu/model_manifest.h): model/svm,
// model/bert or any other.
//
// The manifest is read generically (format, version, creation time, labels,
// held-out metrics, the size and SHA-256 of every file); the model itself is
// loaded by the loader registered for its "format" and used only through
// nlu::IntentClassifier, so a new kind of model needs one
// RegisterModelLoader call and nothing else here. The SVM's, BERT's and
// USE's loaders are built in. The imported USE encoder (model/encoder) is a
// part that intent models are trained on, not a model: its files are
// checked and it is loaded, and it has no labels, smoke test or held-out
// data to check.
//
// check (InspectModel): present, files as listed, loadable, labels, recorded
// held-out metrics, and a live latency sample of single predictions.
// verify (VerifyModel): every file's size and checksum against the manifest
// (and no unlisted files), the load, the labels against the manifest, the
// smoke test (every example of smoke.jsonl still predicted as when the
// model was saved) and the accuracy on heldout.jsonl, which must not be
// lower than when the model was saved. That accuracy is called held-out only
// when the manifest says the model never learned those examples
// ("heldout_learned": false); an SVM refitted on them answers them almost
// all right, so its report shows the figure for what it is and the held-out
// accuracy measured before the refit beside it.
#ifndef CHATBOT_OPS_MODEL_CHECK_H_
#define CHATBOT_OPS_MODEL_CHECK_H_

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nlu/evaluation.h"
#include "nlu/intent_classifier.h"

namespace chatbot::ops {

// Loads (and verifies) a model directory; throws ModelError.
using ModelLoader =
    std::function<std::unique_ptr<nlu::IntentClassifier>(const std::filesystem::path& dir)>;

// Registers the loader of manifests whose "format" is `format` (replacing
// any). "chatbot-svm" and "chatbot-bert" are registered from the start.
void RegisterModelLoader(const std::string& format, ModelLoader loader);

// The model folders of `models_dir` to report on: "svm" and "bert" always
// (absent ones are reported as not present), then every other subdirectory
// holding a manifest.json, sorted.
std::vector<std::string> ModelNames(const std::filesystem::path& models_dir);

struct FileCheck {
  std::string name;
  uint64_t expected_bytes = 0;
  uint64_t bytes = 0;   // on disk
  std::string problem;  // "" when size and checksum match
};

struct ModelStatus {
  std::string name;  // "svm"
  std::filesystem::path directory;
  bool present = false;          // the directory has a manifest.json
  std::string manifest_problem;  // unreadable or malformed manifest
  std::string format;            // "chatbot-svm"
  int64_t format_version = 0;
  std::string version;
  std::string created_at;
  uint64_t bytes = 0;  // total of the files the manifest lists
  std::vector<FileCheck> files;
  std::vector<std::string> unlisted_files;  // in the directory, not in the manifest
  bool files_ok = false;                    // every listed file matches
  std::vector<std::string> manifest_labels;
  boost::json::object heldout_metrics;           // as recorded at training time
  std::optional<bool> heldout_learned;           // the manifest's heldout_learned
  std::optional<double> saved_heldout_accuracy;  // its heldout_file_accuracy
  bool loaded = false;
  bool part = false;  // a part of models (the encoder), loaded without `model`
  std::string load_error;
  double load_seconds = 0;
  std::vector<std::string> labels;  // of the loaded model
  nlu::LatencySummary latency;      // single predictions, warm
  int latency_samples = 0;
  std::shared_ptr<const nlu::IntentClassifier> model;  // when loaded

  // Present and loaded.
  bool healthy() const { return present && loaded; }
};

// Reads the manifest, checks the files, loads the model and times
// `latency_samples` predictions (texts from the stored held-out and smoke
// examples). Never throws for a bad model: the status says what is wrong.
ModelStatus InspectModel(const std::filesystem::path& dir, const std::string& name,
                         int latency_samples = 200);

struct SmokeMismatch {
  std::string text;
  std::string expected;  // predicted when the model was saved
  std::string got;
};

struct VerifyReport {
  ModelStatus status;
  std::string labels_problem;  // loaded labels differ from the manifest's
  size_t smoke_examples = 0;
  std::vector<SmokeMismatch> smoke_mismatches;
  std::string smoke_problem;  // smoke.jsonl missing or unreadable
  size_t heldout_examples = 0;
  std::optional<double> recorded_accuracy;  // the manifest's heldout_metrics.accuracy
  // The manifest's heldout_learned: whether the model saved learned the
  // examples of heldout.jsonl (nullopt: not recorded).
  std::optional<bool> heldout_learned;
  // The manifest's heldout_file_accuracy: the saved model on heldout.jsonl.
  std::optional<double> saved_accuracy;
  double measured_accuracy = 0;

  // True when measured_accuracy is a held-out figure.
  bool measured_is_heldout() const { return heldout_learned.has_value() && !*heldout_learned; }
  std::string heldout_problem;

  // Every difference found, one sentence each; empty when the model is as
  // it was saved.
  std::vector<std::string> Problems() const;
  bool ok() const { return status.present && Problems().empty(); }
};

// Never throws for a bad model: the report says what is wrong.
VerifyReport VerifyModel(const std::filesystem::path& dir, const std::string& name);

// The report as JSON, for --json.
boost::json::object StatusToJson(const ModelStatus& status);
boost::json::object VerifyToJson(const VerifyReport& report);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_MODEL_CHECK_H_
