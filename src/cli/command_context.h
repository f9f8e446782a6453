// What every subcommand shares: the global options, the configuration they
// produce, logging, and where the models live.
#ifndef CHATBOT_CLI_COMMAND_CONTEXT_H_
#define CHATBOT_CLI_COMMAND_CONTEXT_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "nlu/bert_trainer.h"
#include "nlu/classifier_loader.h"
#include "nlu/svm_trainer.h"

namespace chatbot::cli {

// Exit statuses, for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem
inline constexpr int kExitUsage = 2;    // bad arguments, configuration or data

struct GlobalOptions {
  std::string config_file;        // --config
  std::vector<std::string> sets;  // --set section.key=value
  std::string models;             // --models DIR
  std::string log_level;          // --log-level
};

// Loads the configuration with the flags applied (dedicated flags become
// `--set` overrides, so `config show` reports them as flags). Throws
// ConfigError.
Configuration LoadConfiguration(const GlobalOptions& options);

// Starts the app/training/api loggers as configured.
void StartLogging(const Configuration& config);

std::filesystem::path SvmModelDir(const Settings& settings);

std::filesystem::path BertModelDir(const Settings& settings);

// Training options from the [svm] and [nlu] settings.
nlu::SvmTrainingOptions SvmOptionsFromSettings(const Settings& settings);

// Training options from the [bert] and [nlu] settings.
nlu::BertTrainingOptions BertOptionsFromSettings(const Settings& settings);

// How to load the answering model, from [nlu], [bert] and [ensemble];
// `serving` turns on BERT's request batching and cache. `model` overrides
// [nlu] model when not empty.
nlu::ClassifierLoadOptions LoadOptionsFromSettings(const Settings& settings, bool serving,
                                                   const std::string& model = "");

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_COMMAND_CONTEXT_H_
