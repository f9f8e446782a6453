#include "nlu/training_run.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "nlu/classifier_loader.h"
#include "nlu/ensemble_classifier.h"
#include "nlu/evaluation_report.h"
#include "nlu/heldout_calibration.h"
#include "nlu/training_data.h"
#include "nlu/training_split.h"
#include "nlu/use_encoder_files.h"

namespace chatbot::nlu {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

json::object Hyperparameters(const SvmTrainingOptions& o) {
  return {{"c", o.svm.c},
          {"epsilon", o.svm.epsilon},
          {"solver", o.svm.solver == SvmSolver::kNative ? "native" : "liblinear"},
          {"word_ngram_max", o.tfidf.ngrams.word_ngram_max},
          {"char_ngram_min", o.tfidf.ngrams.char_ngram_min},
          {"char_ngram_max", o.tfidf.ngrams.char_ngram_max},
          {"min_df", o.tfidf.min_df},
          {"sublinear_tf", o.tfidf.sublinear_tf},
          {"strip_accents", o.normalization.strip_accents},
          {"validation_fraction", o.validation_fraction},
          {"threshold_folds", o.threshold_folds},
          {"refit_with_validation", o.refit_with_validation},
          {"oos_max_in_scope_loss", o.oos_max_in_scope_loss},
          {"seed", o.seed}};
}

json::object Hyperparameters(const BertTrainingOptions& o) {
  return {{"init", o.init.string()},
          {"size", o.init.empty() ? o.size : "checkpoint"},
          {"vocab_size", o.vocab_size},
          {"max_length", o.max_length},
          {"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"warmup_fraction", o.warmup_fraction},
          {"dropout", o.dropout},
          {"max_grad_norm", o.max_grad_norm},
          {"patience", o.patience},
          {"head", o.init.empty() ? "mean" : "pooler"},
          {"seed", o.seed}};
}

// The labelled examples of a held-out file (one example per intent is enough).
TrainingData LoadHeldOut(const fs::path& file) {
  LoadOptions options;
  options.training = false;
  return LoadTrainingData({file}, options);
}

// The data of a run, with its warnings and the run's first lines in the
// training log.
struct RunData {
  TrainingData data;
  TrainingData validation;
};

RunData LoadRunData(const TrainingRunOptions& options, double validation_fraction,
                    const json::object& hyperparameters) {
  auto log = TrainingLog();
  RunData run{LoadTrainingData(options.data), {}};
  if (!options.validation.empty()) run.validation = LoadHeldOut(options.validation);
  for (const std::string& warning : run.data.warnings) log->warn("data: {}", warning);
  for (const std::string& line : run.data.issues.Summary()) log->warn("data: {}", line);
  std::vector<std::string> files;
  for (const auto& f : run.data.files) files.push_back(f.string());
  log->info("training run: model {}, {} examples, {} intents, {} warnings, files: {}",
            options.model, run.data.examples.size(), run.data.Labels().size(),
            run.data.warnings.size(), fmt::join(files, ", "));
  log->info("held-out data: {}", options.validation.empty()
                                     ? fmt::format("{:.0f}% stratified split of the training data",
                                                   validation_fraction * 100)
                                     : fmt::format("{} ({} examples)", options.validation.string(),
                                                   run.validation.examples.size()));
  log->info("hyper-parameters: {}", json::serialize(hyperparameters));
  return run;
}

// What the manifest says about the data a model learned from.
json::object TrainingDataJson(const TrainingData& data, const std::string& sha256) {
  json::array files;
  for (const auto& f : data.files) files.push_back(json::string(f.string()));
  return {{"sha256", sha256},
          {"files", std::move(files)},
          {"examples", data.examples.size()},
          {"intents", data.Labels().size()}};
}

json::object HeldOutJson(const EvaluationReport& report, const fs::path& validation) {
  json::object heldout = ReportToJson(report);
  heldout["source"] = validation.empty() ? "split" : validation.string();
  return heldout;
}

// How the out-of-scope threshold was chosen, and what it cost there.
json::object ThresholdChoiceJson(const SvmTrainingResult& result, const SvmTrainingOptions& o) {
  const ThresholdChoice& cv = result.cross_validated;
  return {{"method", result.folds > 0 ? "cross-validation" : "none (too few examples)"},
          {"folds", result.folds},
          {"max_in_scope_loss", o.oos_max_in_scope_loss},
          {"in_scope_accuracy_without_threshold", cv.base_in_scope_accuracy},
          {"in_scope_accuracy", cv.in_scope_accuracy},
          {"oos_recall", cv.oos_recall}};
}

// Stamps the version and the creation time, then publishes `model` to `dir`
// with the intents' replies (model_domain.h).
template <typename Model>
std::string Publish(Model& model, json::object manifest, const std::string& version_suffix,
                    const fs::path& dir, const std::vector<TrainingExample>& heldout,
                    const std::vector<TrainingExample>& smoke, const TrainingData* domain) {
  const std::string created_at = UtcTimestamp();
  manifest["created_at"] = created_at;
  model.set_version(CompactTimestamp(created_at) + "-" + version_suffix);
  // What the saved model answers on heldout.jsonl, for verify-model: equal to
  // the held-out accuracy unless the model was refitted on those examples.
  if (!heldout.empty()) manifest["heldout_file_accuracy"] = Evaluate(model, heldout).accuracy;
  model.set_manifest(std::move(manifest));
  model.Save(dir, heldout, smoke, domain);
  return model.version();
}

// Publishes a trained model to `dir`: its manifest records the data, the
// hyperparameters and the held-out metrics, then `own` (the model's own
// fields, in order); its version ends with the data's hash.
template <typename Result>
std::string PublishTrained(Result& result, const RunData& run, const json::object& hyperparameters,
                           const fs::path& validation, const fs::path& dir, json::object own) {
  json::object manifest{{"training_data", TrainingDataJson(run.data, result.data_sha256)},
                        {"hyperparameters", hyperparameters},
                        {"heldout_metrics", HeldOutJson(result.heldout, validation)}};
  for (json::key_value_pair& field : own) manifest[field.key()] = std::move(field.value());
  return Publish(*result.model, std::move(manifest), result.data_sha256.substr(0, 8), dir,
                 result.heldout_examples, result.smoke_examples, &run.data);
}

void LogSummary(const std::string& summary) {
  TrainingLog()->info("{}", summary);
  AppLog()->info("{}", summary);
}

// `partner`: the model mixed with the SVM ("bert", "use").
std::string EnsembleSummary(const EnsembleCalibration& e, std::string_view partner = "bert") {
  return fmt::format(
      "ensemble on {} held-out examples: svm weight {:.2f}; in-scope accuracy svm {:.2f}%, {} "
      "{:.2f}%, ensemble {:.2f}% (out-of-scope recall {:.2f}%, {:.2f}%, {:.2f}%); cascade "
      "{:.2f}% asking {} for {:.1f}% of texts",
      e.examples, e.svm_weight, e.svm.in_scope_accuracy * 100, partner,
      e.bert.in_scope_accuracy * 100, e.ensemble.in_scope_accuracy * 100, e.svm.oos_recall * 100,
      e.bert.oos_recall * 100, e.ensemble.oos_recall * 100, e.cascade.in_scope_accuracy * 100,
      partner, e.bert_call_share * 100);
}

TrainingRunResult TrainSvm(const TrainingRunOptions& options) {
  const json::object hyperparameters = Hyperparameters(options.svm);
  const RunData run = LoadRunData(options, options.svm.validation_fraction, hyperparameters);
  SvmTrainingResult result =
      TrainSvmModel(run.data.examples, run.validation.examples, options.svm, options.svm_progress);

  TrainingRunResult out;
  out.data_warnings = run.data.warnings.size();
  out.data_issues = run.data.issues.Summary();
  out.directory = options.models_dir / kSvmDirectory;
  out.version = PublishTrained(result, run, hyperparameters, options.validation, out.directory,
                               {{"oos_threshold_choice", ThresholdChoiceJson(result, options.svm)},
                                {"heldout_learned", result.refitted},
                                {"training_seconds", result.seconds}});
  const EvaluationReport& r = result.heldout;
  const ThresholdChoice& cv = result.cross_validated;
  out.summary = fmt::format(
      "trained svm model {} in {:.2f}s: {} examples, {} intents, {} features; held-out ({} "
      "examples): accuracy {:.2f}%, in-scope accuracy {:.2f}%, out-of-scope recall {:.2f}%, "
      "macro-F1 {:.2f}%, the out-of-scope threshold costing {:.2f} points of in-scope "
      "accuracy{}; temperature {:.4f}, out-of-scope threshold {:.4f} (chosen by {}-fold "
      "cross-validation to cost at most {:.2f} points: {:.2f}); saved to {}",
      out.version, result.seconds, run.data.examples.size(), run.data.Labels().size(),
      result.model->num_features(), r.examples, r.accuracy * 100, r.in_scope_accuracy * 100,
      r.oos_recall * 100, r.macro_f1 * 100, r.ThresholdInScopeLoss() * 100,
      result.refitted ? " (then refitted on training + held-out data)" : "",
      result.model->temperature(), result.model->out_of_scope_threshold(), result.folds,
      options.svm.oos_max_in_scope_loss * 100,
      (cv.base_in_scope_accuracy - cv.in_scope_accuracy) * 100, out.directory.string());
  LogSummary(out.summary);
  return out;
}

json::object Hyperparameters(const UseTrainingOptions& o) {
  return {{"encoder", o.encoder.string()},
          {"head", o.head.text_features ? "svm on embedding and n-grams" : "svm on embedding"},
          {"c", o.head.c},
          {"word_ngram_max", o.head.tfidf.ngrams.word_ngram_max},
          {"char_ngram_min", o.head.tfidf.ngrams.char_ngram_min},
          {"char_ngram_max", o.head.tfidf.ngrams.char_ngram_max},
          {"validation_fraction", o.validation_fraction},
          {"threshold_folds", o.threshold_folds},
          {"refit_with_validation", o.refit_with_validation},
          {"oos_max_in_scope_loss", o.oos_max_in_scope_loss},
          {"seed", o.seed}};
}

// Chooses the ensemble's weights and thresholds on the held-out examples.
// The SVM served is refitted on its held-out data, so its probabilities on
// these examples would look better than they are; the weights are chosen
// with an SVM trained the same way on BERT's training part only, which sees
// the held-out examples as new, as both models will see real requests.
// `fraction` and `seed` are the partner model's split, when it split.
EnsembleCalibration CalibrateEnsemble(const TrainingRunOptions& options,
                                      const std::vector<TrainingExample>& examples,
                                      bool heldout_from_split, double fraction, uint64_t seed,
                                      const IntentClassifier& partner,
                                      const std::vector<TrainingExample>& heldout) {
  // The training part the partner learned from (the split is deterministic).
  std::vector<TrainingExample> train_part = examples;
  if (heldout_from_split) {
    std::vector<TrainingExample> ignored;
    train_part.clear();
    SplitStratified(examples, fraction, seed, &train_part, &ignored);
  }
  SvmTrainingOptions svm_options = options.svm;
  svm_options.refit_with_validation = false;
  const SvmTrainingResult svm = TrainSvmModel(train_part, heldout, svm_options);
  return ChooseEnsembleWeights(*svm.model, partner, heldout, options.svm.oos_max_in_scope_loss);
}

TrainingRunResult TrainBert(const TrainingRunOptions& options) {
  const json::object hyperparameters = Hyperparameters(options.bert);
  const RunData run = LoadRunData(options, options.bert.validation_fraction, hyperparameters);
  BertTrainingResult result = TrainBertModel(run.data.examples, run.validation.examples,
                                             options.bert, options.bert_progress);
  TrainingRunResult out;
  out.data_warnings = run.data.warnings.size();
  out.data_issues = run.data.issues.Summary();
  if (!result.heldout_examples.empty()) {
    const EnsembleCalibration ensemble = CalibrateEnsemble(
        options, run.data.examples, result.heldout_from_split, options.bert.validation_fraction,
        options.bert.seed, *result.model, result.heldout_examples);
    result.model->set_ensemble(ensemble);
    out.ensemble_summary = EnsembleSummary(ensemble);
    TrainingLog()->info("{}", out.ensemble_summary);
  }
  json::array history;
  for (const BertEpochSummary& e : result.history) {
    history.push_back({{"epoch", e.epoch},
                       {"loss", e.loss},
                       {"validation_accuracy", e.validation_accuracy},
                       {"seconds", e.seconds}});
  }
  out.directory = options.models_dir / kBertDirectory;
  out.version = PublishTrained(result, run, hyperparameters, options.validation, out.directory,
                               {{"training_seconds", result.seconds},
                                {"examples_per_second", result.examples_per_second},
                                {"best_epoch", result.best_epoch},
                                {"parameters", result.parameters},
                                {"history", std::move(history)},
                                {"heldout_learned", false}});
  const EvaluationReport& r = result.heldout;
  out.summary = fmt::format(
      "trained bert model {} in {:.1f}s ({} epochs, best {}; {:.0f} examples/s; {:.1f} M "
      "parameters; peak memory {:.0f} MiB): {} examples, {} intents; held-out ({} examples): "
      "accuracy {:.2f}%, in-scope accuracy {:.2f}%, out-of-scope recall {:.2f}%, macro-F1 "
      "{:.2f}%; temperature {:.4f}, out-of-scope threshold {:.4f}; saved to {}",
      out.version, result.seconds, result.history.size(), result.best_epoch,
      result.examples_per_second, result.parameters / 1e6,
      result.peak_rss_bytes / (1024.0 * 1024.0), run.data.examples.size(), run.data.Labels().size(),
      r.examples, r.accuracy * 100, r.in_scope_accuracy * 100, r.oos_recall * 100, r.macro_f1 * 100,
      result.model->temperature(), result.model->out_of_scope_threshold(), out.directory.string());
  LogSummary(out.summary);
  return out;
}

TrainingRunResult TrainUse(const TrainingRunOptions& options) {
  UseTrainingOptions use_options = options.use;
  if (use_options.encoder.empty()) use_options.encoder = options.models_dir / kEncoderDirectory;
  // The head's n-grams, threads, folds and threshold budget follow the SVM's
  // settings: one [svm] section describes text features for both.
  use_options.head.normalization = options.svm.normalization;
  use_options.head.tfidf = options.svm.tfidf;
  use_options.head.threads = options.svm.svm.threads;
  use_options.threshold_folds = options.svm.threshold_folds;
  use_options.oos_max_in_scope_loss = options.svm.oos_max_in_scope_loss;
  const json::object hyperparameters = Hyperparameters(use_options);
  const RunData run = LoadRunData(options, use_options.validation_fraction, hyperparameters);
  UseTrainingResult result = TrainUseModel(run.data.examples, run.validation.examples, use_options);
  TrainingRunResult out;
  out.data_warnings = run.data.warnings.size();
  if (!result.heldout_examples.empty()) {
    // Weights chosen with the head as it was scored (before the refit), which
    // sees the held-out examples as new.
    const EnsembleCalibration ensemble = CalibrateEnsemble(
        options, run.data.examples, result.heldout_from_split, use_options.validation_fraction,
        use_options.seed, result.scored_model ? *result.scored_model : *result.model,
        result.heldout_examples);
    result.model->set_ensemble(ensemble);
    out.ensemble_summary = EnsembleSummary(ensemble, "use");
    TrainingLog()->info("{}", out.ensemble_summary);
  }
  out.directory = options.models_dir / kUseDirectory;
  out.version = PublishTrained(result, run, hyperparameters, options.validation, out.directory,
                               {{"heldout_learned", result.refitted},
                                {"training_seconds", result.seconds},
                                {"encoding_seconds", result.encode_seconds}});
  const EvaluationReport& r = result.heldout;
  out.summary = fmt::format(
      "trained use model {} in {:.1f}s ({:.1f}s encoding): {} examples, {} intents; held-out ({} "
      "examples): accuracy {:.2f}%, in-scope accuracy {:.2f}%, out-of-scope recall {:.2f}%, "
      "macro-F1 {:.2f}%{}; temperature {:.4f}, out-of-scope threshold {:.4f} ({}); saved to {}",
      out.version, result.seconds, result.encode_seconds, run.data.examples.size(),
      run.data.Labels().size(), r.examples, r.accuracy * 100, r.in_scope_accuracy * 100,
      r.oos_recall * 100, r.macro_f1 * 100,
      result.refitted ? " (then refitted on training + held-out data)" : "",
      result.model->temperature(), result.model->out_of_scope_threshold(),
      result.folds > 0 ? fmt::format("{}-fold cross-validation", result.folds)
                       : std::string("chosen on the held-out data"),
      out.directory.string());
  LogSummary(out.summary);
  return out;
}

// Only the threshold is chosen: the model is adopted unchanged, so its
// probabilities stay the softmax of its logits.
float ChooseThreshold(const BertIntentModel& model, const std::vector<TrainingExample>& heldout,
                      double max_in_scope_loss) {
  std::vector<std::string> texts;
  for (const auto& e : heldout) texts.push_back(e.text);
  const std::vector<float> probabilities = model.ProbabilitiesBatch(texts);
  std::vector<HeldOutOutcome> outcomes;
  const auto& labels = model.labels();
  for (size_t i = 0; i < heldout.size(); ++i) {
    const float* row = probabilities.data() + i * labels.size();
    const size_t best = std::max_element(row, row + labels.size()) - row;
    outcomes.push_back({row[best], heldout[i].intent == kOutOfScopeLabel,
                        labels[best] == kOutOfScopeLabel, labels[best] == heldout[i].intent});
  }
  return ChooseOutOfScopeThreshold(outcomes, max_in_scope_loss).threshold;
}

}  // namespace

std::string CompactTimestamp(const std::string& iso) {
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

TrainingRunResult RunTraining(const TrainingRunOptions& options) {
  if (options.model == "svm") return TrainSvm(options);
  if (options.model == "bert") return TrainBert(options);
  if (options.model == "use") return TrainUse(options);
  throw ConfigError("train --model " + options.model + ": unknown model (svm, bert or use)");
}

TrainingRunResult ImportBertCheckpoint(const ImportOptions& options) {
  std::unique_ptr<BertIntentModel> model = AdoptCheckpoint(options.checkpoint);
  std::vector<TrainingExample> heldout;
  std::string calibration_note = "not calibrated (no --validation): temperature 1";
  if (!options.validation.empty()) {
    heldout = LoadHeldOut(options.validation).examples;
    model->set_out_of_scope_threshold(
        ChooseThreshold(*model, heldout, options.oos_max_in_scope_loss));
    calibration_note =
        fmt::format("out-of-scope threshold {:.4f} chosen on {} ({} examples)",
                    model->out_of_scope_threshold(), options.validation.string(), heldout.size());
    if (ModelPresent(options.models_dir, kSvmDirectory)) {
      const auto svm = SvmIntentModel::Load(options.models_dir / kSvmDirectory);
      if (svm->labels() == model->labels()) {
        model->set_ensemble(
            ChooseEnsembleWeights(*svm, *model, heldout, options.oos_max_in_scope_loss));
        calibration_note += "; " + EnsembleSummary(model->ensemble());
      }
    }
  }
  json::object manifest{{"imported_from", fs::absolute(options.checkpoint).string()},
                        {"training_data", {{"sha256", "imported"}}},
                        {"heldout_learned", false}};
  if (!heldout.empty()) {
    std::vector<std::string> expected, predicted;
    for (const auto& e : heldout) {
      expected.push_back(e.intent);
      predicted.push_back(model->Predict(e.text, 1).intent);
    }
    json::object metrics = ReportToJson(ScorePredictions(expected, predicted));
    metrics["source"] = options.validation.string();
    manifest["heldout_metrics"] = metrics;
  }
  TrainingRunResult out;
  out.directory = options.models_dir / kBertDirectory;
  // A few examples per intent, for verify-model.
  out.version = Publish(*model, std::move(manifest), "imported", out.directory, heldout,
                        SmokeExamples(heldout, 3), nullptr);
  out.summary = fmt::format(
      "imported bert model {} from {}: {} labels, {} layers, hidden {}; {}; saved to {}",
      out.version, options.checkpoint.string(), model->labels().size(),
      model->checkpoint().config.num_hidden_layers, model->checkpoint().config.hidden_size,
      calibration_note, out.directory.string());
  LogSummary(out.summary);
  return out;
}

}  // namespace chatbot::nlu
