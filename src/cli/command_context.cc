#include "cli/command_context.h"

#include "common/logging.h"

namespace chatbot::cli {

Configuration LoadConfiguration(const GlobalOptions& options) {
  Configuration::Sources sources;
  if (!options.config_file.empty()) sources.file = options.config_file;
  sources.flags = options.sets;
  if (!options.models.empty()) sources.flags.push_back("paths.models=" + options.models);
  if (!options.log_level.empty()) sources.flags.push_back("logging.level=" + options.log_level);
  return Configuration::Load(sources);
}

void StartLogging(const Configuration& config) {
  InitLogging(config.settings().logging, config.settings().paths.logs);
}

std::filesystem::path SvmModelDir(const Settings& settings) {
  return std::filesystem::path(settings.paths.models) / "svm";
}

nlu::SvmTrainingOptions SvmOptionsFromSettings(const Settings& settings) {
  nlu::SvmTrainingOptions options;
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
      settings.svm.solver == "liblinear" ? nlu::SvmSolver::kLiblinear : nlu::SvmSolver::kNative;
  options.validation_fraction = settings.svm.validation_fraction;
  options.refit_with_validation = settings.svm.refit_with_validation;
  options.seed = static_cast<uint64_t>(settings.svm.seed);
  options.oos_max_in_scope_loss = settings.nlu.oos_max_accuracy_loss / 100.0;
  return options;
}

}  // namespace chatbot::cli
