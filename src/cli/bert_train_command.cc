// `chatbot train --model bert` and `chatbot import-bert`: train (or adopt)
// the BERT model, calibrate the ensemble with the SVM on the held-out data,
// save model/bert/ atomically, and record the run in logs/training.log.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "nlu/bert_trainer.h"
#include "nlu/ensemble_classifier.h"
#include "nlu/evaluation_report.h"
#include "nlu/heldout_calibration.h"
#include "nlu/model_manifest.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"

namespace chatbot::cli {
namespace {

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  const long total = static_cast<long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

// One progress line on stderr: rewritten in place on a terminal; otherwise
// printed at the end of each epoch only, so that logs stay readable.
class BertProgressPrinter {
 public:
  BertProgressPrinter() : interactive_(::isatty(STDERR_FILENO) == 1) {}

  void Update(const nlu::BertTrainingProgress& p) {
    const std::string validation =
        p.validation_accuracy < 0 ? "-" : fmt::format("{:.2f}%", p.validation_accuracy * 100);
    const std::string line = fmt::format(
        "epoch {}/{} step {}/{}: loss {:.4f}, validation accuracy {}, {:.0f} examples/s, "
        "elapsed {}, ETA {}",
        p.epoch, p.epochs, p.step, p.steps, p.loss, validation, p.examples_per_second,
        FormatDuration(p.elapsed_seconds), FormatDuration(p.eta_seconds));
    if (interactive_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      if (p.epoch_finished) std::fprintf(stderr, "\n");
    } else if (p.epoch_finished) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    if (p.epoch_finished) TrainingLog()->info("{}", line);
  }

 private:
  bool interactive_;
};

boost::json::object Hyperparameters(const nlu::BertTrainingOptions& o, bool mean_head) {
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
          {"head", mean_head ? "mean" : "pooler"},
          {"seed", o.seed}};
}

// Chooses the ensemble's weights and thresholds on the held-out examples.
// The SVM served is refitted on its held-out data, so its probabilities on
// these examples would look better than they are; the weights are chosen
// with an SVM trained the same way on BERT's training part only, which sees
// the held-out examples as new, as both models will see real requests.
nlu::EnsembleCalibration CalibrateEnsemble(const Settings& settings,
                                           const std::vector<nlu::TrainingExample>& train,
                                           const nlu::BertTrainingResult& bert) {
  nlu::SvmTrainingOptions svm_options = SvmOptionsFromSettings(settings);
  svm_options.refit_with_validation = false;
  nlu::SvmTrainingResult svm = nlu::TrainSvmModel(train, bert.heldout_examples, svm_options);
  return nlu::ChooseEnsembleWeights(*svm.model, *bert.model, bert.heldout_examples,
                                    settings.nlu.oos_max_accuracy_loss / 100.0);
}

// Versions read "<UTC time>-<first 8 hex digits of the data's SHA-256>", or
// "-imported" for an adopted checkpoint.
void SaveBert(const Settings& settings, nlu::BertIntentModel& model, boost::json::object manifest,
              const std::string& version_suffix, const std::vector<nlu::TrainingExample>& heldout,
              const std::vector<nlu::TrainingExample>& smoke) {
  const std::string created_at = nlu::UtcTimestamp();
  manifest["created_at"] = created_at;
  model.set_version(CompactTimestamp(created_at) + "-" + version_suffix);
  model.set_manifest(std::move(manifest));
  model.Save(BertModelDir(settings), heldout, smoke);
}

std::string EnsembleSummary(const nlu::EnsembleCalibration& e) {
  return fmt::format(
      "ensemble on {} held-out examples: svm weight {:.2f}; in-scope accuracy svm {:.2f}%, bert "
      "{:.2f}%, ensemble {:.2f}% (out-of-scope recall {:.2f}%, {:.2f}%, {:.2f}%); cascade "
      "{:.2f}% asking BERT for {:.1f}% of texts",
      e.examples, e.svm_weight, e.svm.in_scope_accuracy * 100, e.bert.in_scope_accuracy * 100,
      e.ensemble.in_scope_accuracy * 100, e.svm.oos_recall * 100, e.bert.oos_recall * 100,
      e.ensemble.oos_recall * 100, e.cascade.in_scope_accuracy * 100, e.bert_call_share * 100);
}

}  // namespace

int TrainBert(const Configuration& config, const TrainArgs& args) {
  const Settings& settings = config.settings();
  auto log = TrainingLog();
  const std::vector<std::string> data_paths = args.data.empty() ? settings.paths.data : args.data;
  const nlu::TrainingData data = nlu::LoadTrainingData({data_paths.begin(), data_paths.end()});
  nlu::TrainingData validation;
  if (!args.validation.empty()) {
    nlu::LoadOptions options;
    options.require_two_examples_per_intent = false;
    validation = nlu::LoadTrainingData({args.validation}, options);
  }
  for (const std::string& warning : data.warnings) log->warn("data: {}", warning);

  nlu::BertTrainingOptions options = BertOptionsFromSettings(settings);
  if (!args.init.empty()) options.init = args.init;
  if (!args.size.empty()) options.size = args.size;
  const bool mean_head = options.init.empty();
  const boost::json::object hyperparameters = Hyperparameters(options, mean_head);
  log->info("training run: model bert, {} examples, {} intents, {} warnings, files: {}",
            data.examples.size(), data.Labels().size(), data.warnings.size(),
            fmt::join(data_paths, ", "));
  log->info("held-out data: {}",
            args.validation.empty()
                ? fmt::format("{:.0f}% stratified split of the training data",
                              options.validation_fraction * 100)
                : fmt::format("{} ({} examples)", args.validation, validation.examples.size()));
  log->info("hyper-parameters: {}", boost::json::serialize(hyperparameters));

  BertProgressPrinter printer;
  nlu::BertTrainingResult result =
      nlu::TrainBertModel(data.examples, validation.examples, options,
                          [&](const nlu::BertTrainingProgress& p) { printer.Update(p); });

  // The training part BERT learned from (the split is deterministic).
  std::vector<nlu::TrainingExample> train_part = data.examples;
  if (result.heldout_from_split) {
    std::vector<nlu::TrainingExample> ignored;
    train_part.clear();
    nlu::SplitStratified(data.examples, options.validation_fraction, options.seed, &train_part,
                         &ignored);
  }
  std::string ensemble_summary;
  if (!result.heldout_examples.empty()) {
    const nlu::EnsembleCalibration ensemble = CalibrateEnsemble(settings, train_part, result);
    result.model->set_ensemble(ensemble);
    ensemble_summary = EnsembleSummary(ensemble);
    log->info("{}", ensemble_summary);
  }

  boost::json::object heldout = nlu::ReportToJson(result.heldout);
  heldout["source"] = args.validation.empty() ? "split" : args.validation;
  boost::json::array files;
  for (const auto& f : data.files) files.push_back(boost::json::string(f.string()));
  boost::json::array history;
  for (const nlu::BertEpochSummary& e : result.history) {
    history.push_back({{"epoch", e.epoch},
                       {"loss", e.loss},
                       {"validation_accuracy", e.validation_accuracy},
                       {"seconds", e.seconds}});
  }
  SaveBert(settings, *result.model,
           {{"training_data",
             {{"sha256", result.data_sha256},
              {"files", files},
              {"examples", data.examples.size()},
              {"intents", data.Labels().size()}}},
            {"hyperparameters", hyperparameters},
            {"heldout_metrics", heldout},
            {"training_seconds", result.seconds},
            {"examples_per_second", result.examples_per_second},
            {"best_epoch", result.best_epoch},
            {"parameters", result.parameters},
            {"history", history}},
           result.data_sha256.substr(0, 8), result.heldout_examples, result.smoke_examples);

  const nlu::EvaluationReport& r = result.heldout;
  const std::string summary = fmt::format(
      "trained bert model {} in {:.1f}s ({} epochs, best {}; {:.0f} examples/s; {:.1f} M "
      "parameters; peak memory {:.0f} MiB): {} examples, {} intents; held-out ({} examples): "
      "accuracy {:.2f}%, in-scope accuracy {:.2f}%, out-of-scope recall {:.2f}%, macro-F1 "
      "{:.2f}%; temperature {:.4f}, out-of-scope threshold {:.4f}; saved to {}",
      result.model->version(), result.seconds, result.history.size(), result.best_epoch,
      result.examples_per_second, result.parameters / 1e6,
      result.peak_rss_bytes / (1024.0 * 1024.0), data.examples.size(), data.Labels().size(),
      r.examples, r.accuracy * 100, r.in_scope_accuracy * 100, r.oos_recall * 100, r.macro_f1 * 100,
      result.model->temperature(), result.model->out_of_scope_threshold(),
      BertModelDir(settings).string());
  log->info("{}", summary);
  AppLog()->info("{}", summary);
  std::printf("%s\n", summary.c_str());
  if (!ensemble_summary.empty()) std::printf("%s\n", ensemble_summary.c_str());
  return kExitOk;
}

int RunImportBert(const GlobalOptions& global, const ImportBertArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  std::unique_ptr<nlu::BertIntentModel> model = nlu::AdoptCheckpoint(args.checkpoint);
  std::vector<nlu::TrainingExample> heldout;
  std::string calibration_note = "not calibrated (no --validation): temperature 1";
  if (!args.validation.empty()) {
    nlu::LoadOptions load;
    load.require_two_examples_per_intent = false;
    heldout = nlu::LoadTrainingData({args.validation}, load).examples;
    // Only the threshold is chosen: the model is adopted unchanged, so its
    // probabilities stay the softmax of its logits.
    std::vector<float> probabilities = model->ProbabilitiesBatch([&] {
      std::vector<std::string> texts;
      for (const auto& e : heldout) texts.push_back(e.text);
      return texts;
    }());
    std::vector<nlu::HeldOutOutcome> outcomes;
    const auto& labels = model->labels();
    for (size_t i = 0; i < heldout.size(); ++i) {
      const float* row = probabilities.data() + i * labels.size();
      const size_t best = std::max_element(row, row + labels.size()) - row;
      outcomes.push_back({row[best], heldout[i].intent == nlu::kOutOfScopeLabel,
                          labels[best] == nlu::kOutOfScopeLabel,
                          labels[best] == heldout[i].intent});
    }
    model->set_out_of_scope_threshold(
        nlu::ChooseOutOfScopeThreshold(outcomes, settings.nlu.oos_max_accuracy_loss / 100.0)
            .threshold);
    calibration_note =
        fmt::format("out-of-scope threshold {:.4f} chosen on {} ({} examples)",
                    model->out_of_scope_threshold(), args.validation, heldout.size());
    if (nlu::ModelPresent(settings.paths.models, nlu::kSvmDirectory)) {
      const auto svm = nlu::SvmIntentModel::Load(SvmModelDir(settings));
      if (svm->labels() == model->labels()) {
        model->set_ensemble(nlu::ChooseEnsembleWeights(*svm, *model, heldout,
                                                       settings.nlu.oos_max_accuracy_loss / 100.0));
        calibration_note += "; " + EnsembleSummary(model->ensemble());
      }
    }
  }
  boost::json::object manifest{
      {"imported_from", std::filesystem::absolute(args.checkpoint).string()},
      {"training_data", {{"sha256", "imported"}}}};
  if (!heldout.empty()) {
    std::vector<std::string> expected, predicted;
    for (const auto& e : heldout) {
      expected.push_back(e.intent);
      predicted.push_back(model->Predict(e.text, 1).intent);
    }
    boost::json::object metrics = nlu::ReportToJson(nlu::ScorePredictions(expected, predicted));
    metrics["source"] = args.validation;
    manifest["heldout_metrics"] = metrics;
  }
  const std::vector<nlu::TrainingExample> smoke =
      nlu::SmokeExamples(heldout, 3);  // a few per intent, for verify-model
  SaveBert(settings, *model, std::move(manifest), "imported", heldout, smoke);
  const std::string summary = fmt::format(
      "imported bert model {} from {}: {} labels, {} layers, hidden {}; {}; saved to {}",
      model->version(), args.checkpoint, model->labels().size(),
      model->checkpoint().config.num_hidden_layers, model->checkpoint().config.hidden_size,
      calibration_note, BertModelDir(settings).string());
  TrainingLog()->info("{}", summary);
  AppLog()->info("{}", summary);
  std::printf("%s\n", summary.c_str());
  return kExitOk;
}

}  // namespace chatbot::cli
