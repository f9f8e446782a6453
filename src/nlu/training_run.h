// A training run, as `chatbot train` and `chatbot import-bert` perform it:
// load the data (and the held-out file, or split the data), train, choose
// the out-of-scope threshold and, for BERT, the ensemble's weights with the
// SVM, write the manifest (data checksum, hyper-parameters, held-out
// metrics), stamp the version and publish models/<kind>/ atomically. The
// run is recorded in the training log; the caller prints the summary.
//
// Versions read "<UTC time>-<first 8 hex digits of the data's SHA-256>"
// ("20261129T002747Z-1a2b3c4d"), or "<UTC time>-imported" for an adopted
// checkpoint.
#ifndef CHATBOT_NLU_TRAINING_RUN_H_
#define CHATBOT_NLU_TRAINING_RUN_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "nlu/bert_trainer.h"
#include "nlu/svm_trainer.h"
#include "nlu/use_trainer.h"

namespace chatbot::nlu {

struct TrainingRunOptions {
  std::string model = "svm";  // svm|bert|use
  std::vector<std::filesystem::path> data;
  std::filesystem::path validation;  // held-out file; empty: split the data
  std::filesystem::path models_dir;  // the model goes to models_dir/<model>
  SvmTrainingOptions svm;  // the SVM, and for BERT the one its ensemble is calibrated with
  BertTrainingOptions bert;
  UseTrainingOptions use;  // encoder empty: models_dir/encoder
  SvmProgressCallback svm_progress;
  BertProgressCallback bert_progress;
};

struct TrainingRunResult {
  std::string version;
  std::filesystem::path directory;       // where the model was published
  std::string summary;                   // one line: the model, its held-out metrics, where
  std::string ensemble_summary;          // BERT, USE: the ensemble's calibration, when one was made
  size_t data_warnings = 0;              // written to the training log
  std::vector<std::string> data_issues;  // DataIssues::Summary() of the training data
};

// Throws DataError, ModelError, IoError, ConfigError (an unknown model).
TrainingRunResult RunTraining(const TrainingRunOptions& options);

struct ImportOptions {
  std::filesystem::path checkpoint;  // a fine-tuned checkpoint directory
  // Labelled examples: the out-of-scope threshold (and, when the SVM in
  // models_dir has the same labels, the ensemble) is chosen on them; empty:
  // temperature 1, no threshold chosen.
  std::filesystem::path validation;
  std::filesystem::path models_dir;  // the model goes to models_dir/bert
  double oos_max_in_scope_loss = 0.01;
};

// Adopts a checkpoint as the BERT model. Throws as RunTraining.
TrainingRunResult ImportBertCheckpoint(const ImportOptions& options);

// "2026-11-29T00:27:47Z" -> "20261129T002747Z", for model versions.
std::string CompactTimestamp(const std::string& iso);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TRAINING_RUN_H_
