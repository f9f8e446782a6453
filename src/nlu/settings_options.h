// The nlu options as the configuration sets them: training ([svm], [bert],
// [nlu]), loading the answering model ([nlu], [bert], [ensemble]) and whole
// training runs ([paths]). Every front end builds its options here, so that
// `chatbot train`, `serve` and `chat` agree on what a setting means.
#ifndef CHATBOT_NLU_SETTINGS_OPTIONS_H_
#define CHATBOT_NLU_SETTINGS_OPTIONS_H_

#include <string>
#include <vector>

#include "common/config.h"
#include "nlu/bert_trainer.h"
#include "nlu/classifier_loader.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_run.h"

namespace chatbot::nlu {

// Training options from the [svm] and [nlu] settings.
SvmTrainingOptions SvmOptionsFromSettings(const Settings& settings);

// Training options from the [bert] and [nlu] settings.
BertTrainingOptions BertOptionsFromSettings(const Settings& settings);

// How to load the answering model, from [nlu], [bert] and [ensemble];
// `serving` turns on BERT's request batching and cache. `model` overrides
// [nlu] model when not empty.
ClassifierLoadOptions LoadOptionsFromSettings(const Settings& settings, bool serving,
                                              const std::string& model = "");

// What a front end may choose for one training run (`chatbot train`'s
// flags); each empty field leaves the setting named.
struct TrainingRunChoices {
  std::string model = "svm";      // svm|bert|use
  std::vector<std::string> data;  // [paths] data
  std::string validation;         // held-out file; empty: a split of the training data
  std::string init;               // bert: the checkpoint to fine-tune; [bert] init
  std::string size;               // bert from scratch; [bert] size
  std::string encoder;            // use: the imported encoder; <paths.models>/encoder
};

// A training run on [paths] data into [paths] models, with the options
// above and `choices` made.
TrainingRunOptions TrainingRunFromSettings(const Settings& settings,
                                           const TrainingRunChoices& choices = {});

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_SETTINGS_OPTIONS_H_
