// `chatbot evaluate`'s run: the saved model scored on a labelled data file,
// or the configured SVM training cross-validated on it (K folds), with a
// title saying which.
#ifndef CHATBOT_NLU_EVALUATION_RUN_H_
#define CHATBOT_NLU_EVALUATION_RUN_H_

#include <functional>
#include <string>

#include "common/config.h"
#include "nlu/evaluation.h"

namespace chatbot::nlu {

struct EvaluationRunOptions {
  std::string data;          // YAML or JSONL file
  std::string model;         // svm|bert|ensemble; empty: [nlu] model
  int cross_validation = 0;  // K > 0: K-fold cross-validation instead
  // After each fold: folds done, of K, seconds since the start.
  std::function<void(int done, int folds, double elapsed_seconds)> fold_done;
};

struct EvaluationRunResult {
  EvaluationReport report;
  // "svm model V on FILE", "5-fold cross-validation on FILE".
  std::string title;
};

// Throws DataError (the data), ModelError (the model).
EvaluationRunResult RunEvaluation(const Settings& settings, const EvaluationRunOptions& options);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_EVALUATION_RUN_H_
