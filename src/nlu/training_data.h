// Training and evaluation data, in the formats people bring: the bot's
// domain in YAML, JSON Lines as public benchmarks ship them, CSV with a
// header as spreadsheets and labelling tools export it, and Rasa-style NLU
// YAML.
//
// Project YAML (data/domain/*.yml):
//   version: 1
//   intents:
//     - intent: order_status
//       description: The customer asks where an order is.   # optional
//       examples:
//         - where is my order
//       responses:                                          # optional
//         - Please give me your order number and I will look it up.
// Rasa-style YAML (a top-level `nlu` instead of `intents`):
//   nlu:
//     - intent: order_status
//       examples: |
//         - where is my order
// JSON Lines (*.jsonl, *.json): one {"text": "...", "intent": "..."} per line.
// CSV (*.csv): a header naming the columns `text` and `intent` (any order,
// other columns ignored), then one example per record (RFC 4180 quoting).
//
// The intent label "oos" marks out-of-scope examples.
//
// The same rules hold for every format (docs/training-data.md is the full
// reference):
//  - An intent name is any non-empty text without control characters and
//    without white space at either end ("is it open?", "Café", "a b").
//    Messages quote names and texts with EscapeForDisplay.
//  - Errors (DataError, "FILE:LINE: reason"): malformed files, missing or
//    mistyped fields, invalid names, invalid UTF-8, unknown file types.
//  - Reported with their lines and counted (DataIssues), not fatal: empty
//    texts (skipped), the same text twice under one intent (dropped when
//    LoadOptions::training, else kept), the same text under two intents
//    (kept: one of them is probably mislabelled), and in training data
//    intents with a single example (they train, but no held-out split or
//    cross-validation fold can test them) or none.
//  - "Same text" means equal after TextNormalizer (default options).
//  - An intent defined more than once (in one file or several) is merged:
//    examples and responses are appended in load order (a response already
//    present is not repeated); the first non-empty description is kept.
//  - A file reached twice is read once. Loading no examples at all is an
//    error.
#ifndef CHATBOT_NLU_TRAINING_DATA_H_
#define CHATBOT_NLU_TRAINING_DATA_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nlu/intent_name.h"

namespace chatbot::nlu {

// The label of out-of-scope examples, as in CLINC150.
inline constexpr const char* kOutOfScopeLabel = "oos";

struct TrainingExample {
  std::string text;
  std::string intent;
  std::string source;  // "FILE:LINE" where the example was written
};

struct IntentDefinition {
  std::string name;
  std::string description;
  std::vector<std::string> responses;  // empty for JSONL data
};

// What the loader found wrong with the data without refusing it, each kind
// with the places ("FILE:LINE") in load order.
struct DataIssues {
  std::vector<std::string> empty_texts;       // skipped
  std::vector<std::string> duplicates;        // dropped when training
  std::vector<std::string> conflicts;         // kept
  std::vector<std::string> single_example;    // "'name' (FILE:LINE)", training only
  std::vector<std::string> without_examples;  // "'name' (FILE:LINE)", training only
  size_t duplicates_dropped = 0;

  // One line per kind found, with its count and the first places, e.g.
  // "2 duplicate examples dropped: a.csv:4, a.csv:9". Empty when clean.
  std::vector<std::string> Summary() const;
};

struct TrainingData {
  std::vector<TrainingExample> examples;     // in file order
  std::vector<IntentDefinition> intents;     // in order of first appearance
  std::vector<std::string> warnings;         // "FILE:LINE: reason", one per issue
  DataIssues issues;                         // the same, counted by kind
  std::vector<std::filesystem::path> files;  // files read, in order

  // Sorted, distinct intent labels of the examples.
  std::vector<std::string> Labels() const;
};

struct LoadOptions {
  // Training data: duplicates are dropped, and intents with fewer than two
  // examples are reported. Evaluation sets keep every example as written.
  bool training = true;
};

// Loads files (.yml, .yaml, .jsonl, .json as JSON Lines, .csv) and
// directories (all such files inside, recursively, in sorted order). Throws DataError; IoError
// when a file exists but cannot be read.
TrainingData LoadTrainingData(const std::vector<std::filesystem::path>& paths,
                              const LoadOptions& options = {});

// One {"text", "intent"} JSON object per line, as model directories store
// their held-out and smoke examples.
std::string ExamplesToJsonLines(const std::vector<TrainingExample>& examples);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TRAINING_DATA_H_
