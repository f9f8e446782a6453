// Training and evaluation data: the bot's domain in YAML, or JSON Lines as the
// public benchmarks ship them.
//
// YAML (data/domain/*.yml):
//   version: 1
//   intents:
//     - intent: order_status
//       description: The customer asks where an order is.   # optional
//       examples:
//         - where is my order
//         - has my package shipped yet
//       responses:                                          # optional
//         - Please give me your order number and I will look it up.
//
// JSON Lines (*.jsonl): one {"text": "...", "intent": "..."} object per line;
// blank lines are skipped.
//
// The intent label "oos" marks out-of-scope examples.
//
// Errors (DataError, message "FILE:LINE: reason"): malformed YAML or JSON,
// missing or mistyped fields, empty text, invalid UTF-8, an unknown file
// type, and (when required) an intent with fewer than two examples.
// Warnings (collected, not fatal): the same text twice in one intent, and the
// same text under two intents.
//
// Further rules (docs/training-data.md is the full reference):
//  - Top-level keys are `version` (optional, must be 1) and `intents`; intent
//    entries take `intent`, `description`, `examples` and `responses`. Any
//    other key is an error, so that typos surface.
//  - Intent names match [A-Za-z0-9_.-]+, in YAML and JSON Lines alike.
//  - An intent defined more than once (in one file or several) is merged:
//    examples and responses are appended in load order (a response already
//    present is not repeated); the first non-empty description is kept.
//  - "Same text" for the warnings means equal after TextNormalizer (default
//    options): trimmed, case-folded, NFKC. Every example is kept, duplicates
//    included; dropping data is the trainer's decision.
//  - A file reached twice (named twice, or also inside a named directory) is
//    read once. Loading no examples at all is an error.
#ifndef CHATBOT_NLU_TRAINING_DATA_H_
#define CHATBOT_NLU_TRAINING_DATA_H_

#include <filesystem>
#include <string>
#include <vector>

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

struct TrainingData {
  std::vector<TrainingExample> examples;     // in file order
  std::vector<IntentDefinition> intents;     // in order of first appearance
  std::vector<std::string> warnings;         // "FILE:LINE: reason"
  std::vector<std::filesystem::path> files;  // files read, in order

  // Sorted, distinct intent labels of the examples.
  std::vector<std::string> Labels() const;
};

struct LoadOptions {
  // Training needs at least two examples per intent; evaluation sets don't.
  bool require_two_examples_per_intent = true;
};

// Loads files (.yml, .yaml, .jsonl, .json as JSON Lines) and directories (all
// such files inside, recursively, in sorted order). Throws DataError; IoError
// when a file exists but cannot be read.
TrainingData LoadTrainingData(const std::vector<std::filesystem::path>& paths,
                              const LoadOptions& options = {});

// One {"text", "intent"} JSON object per line, as model directories store
// their held-out and smoke examples.
std::string ExamplesToJsonLines(const std::vector<TrainingExample>& examples);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TRAINING_DATA_H_
