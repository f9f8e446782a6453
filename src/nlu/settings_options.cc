#include "nlu/settings_options.h"

namespace chatbot::nlu {

SvmTrainingOptions SvmOptionsFromSettings(const Settings& settings) {
  SvmTrainingOptions options;
  options.normalization.strip_accents = settings.nlu.strip_accents;
  options.tfidf.ngrams.word_ngram_max = static_cast<int>(settings.svm.word_ngram_max);
  options.tfidf.ngrams.char_ngram_min = static_cast<int>(settings.svm.char_ngram_min);
  options.tfidf.ngrams.char_ngram_max = static_cast<int>(settings.svm.char_ngram_max);
  options.tfidf.min_df = static_cast<int>(settings.svm.min_df);
  options.tfidf.sublinear_tf = settings.svm.sublinear_tf;
  options.svm.c = settings.svm.c;
  options.svm.epsilon = settings.svm.epsilon;
  options.svm.threads = static_cast<int>(settings.svm.threads);
  options.svm.solver =
      settings.svm.solver == "liblinear" ? SvmSolver::kLiblinear : SvmSolver::kNative;
  options.validation_fraction = settings.svm.validation_fraction;
  options.threshold_folds = static_cast<int>(settings.svm.threshold_folds);
  options.refit_with_validation = settings.svm.refit_with_validation;
  options.seed = static_cast<uint64_t>(settings.svm.seed);
  options.oos_max_in_scope_loss = settings.nlu.oos_max_accuracy_loss / 100.0;
  return options;
}

BertTrainingOptions BertOptionsFromSettings(const Settings& settings) {
  const Settings::Bert& b = settings.bert;
  BertTrainingOptions options;
  options.init = b.init;
  options.size = b.size;
  options.vocab_size = static_cast<int>(b.vocab_size);
  options.max_length = static_cast<int>(b.max_length);
  options.epochs = static_cast<int>(b.epochs);
  options.batch_size = static_cast<int>(b.batch_size);
  options.learning_rate = b.learning_rate;
  options.weight_decay = b.weight_decay;
  options.warmup_fraction = b.warmup_fraction;
  options.dropout = b.dropout;
  options.max_grad_norm = b.max_grad_norm;
  options.patience = static_cast<int>(b.patience);
  options.seed = static_cast<uint64_t>(b.seed);
  options.threads = static_cast<int>(b.threads);
  options.validation_fraction = settings.svm.validation_fraction;
  options.oos_max_in_scope_loss = settings.nlu.oos_max_accuracy_loss / 100.0;
  return options;
}

ClassifierLoadOptions LoadOptionsFromSettings(const Settings& settings, bool serving,
                                              const std::string& model) {
  ClassifierLoadOptions options;
  options.model = model.empty() ? settings.nlu.model : model;
  options.ensemble_mode = ParseEnsembleMode(settings.ensemble.mode);
  options.bert.precision = bert::ResolvePrecision(
      settings.bert.precision, bert::DefaultComputeBackend()->Supports(bert::Precision::kBF16));
  options.batching = serving;
  options.batching_options.max_batch = static_cast<int>(settings.bert.max_batch);
  options.batching_options.max_wait = std::chrono::microseconds(settings.bert.max_wait_us);
  options.batching_options.threads = static_cast<int>(settings.bert.threads);
  options.batching_options.cache_capacity = static_cast<size_t>(settings.bert.cache_size);
  return options;
}

TrainingRunOptions TrainingRunFromSettings(const Settings& settings,
                                           const TrainingRunChoices& choices) {
  TrainingRunOptions options;
  options.model = choices.model;
  const std::vector<std::string>& data = choices.data.empty() ? settings.paths.data : choices.data;
  options.data.assign(data.begin(), data.end());
  options.validation = choices.validation;
  options.models_dir = settings.paths.models;
  options.svm = SvmOptionsFromSettings(settings);
  options.bert = BertOptionsFromSettings(settings);
  if (!choices.init.empty()) options.bert.init = choices.init;
  if (!choices.size.empty()) options.bert.size = choices.size;
  if (!choices.encoder.empty()) options.use.encoder = choices.encoder;
  return options;
}

}  // namespace chatbot::nlu
