#include "nlu/svm_trainer.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/heldout_calibration.h"
#include "nlu/training_split.h"

namespace chatbot::nlu {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<SvmIntentModel> FitModel(const std::vector<TrainingExample>& data,
                                         const std::vector<std::string>& labels,
                                         const SvmTrainingOptions& options,
                                         const std::string& stage,
                                         const SvmProgressCallback& progress,
                                         Clock::time_point start) {
  const TextNormalizer normalizer(options.normalization);
  std::vector<std::string> texts;
  texts.reserve(data.size());
  for (const TrainingExample& e : data) texts.push_back(normalizer.Normalize(e.text));
  if (progress) progress({"features", 0, 1, SecondsSince(start)});
  TfidfVectorizer vectorizer = TfidfVectorizer::Fit(texts, options.tfidf);
  std::vector<std::vector<SparseFeature>> rows(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) vectorizer.Transform(texts[i], &rows[i]);
  if (progress) progress({"features", 1, 1, SecondsSince(start)});

  std::map<std::string, int> label_index;
  for (size_t k = 0; k < labels.size(); ++k) label_index[labels[k]] = static_cast<int>(k);
  std::vector<int> y;
  y.reserve(data.size());
  for (const TrainingExample& e : data) y.push_back(label_index.at(e.intent));

  LinearSvmOptions svm_options = options.svm;
  svm_options.seed = options.seed;
  if (progress) {
    svm_options.on_class_trained = [&](int done, int total) {
      progress({stage, done, total, SecondsSince(start)});
    };
  }
  LinearSvm svm = LinearSvm::Train(rows, y, static_cast<int>(labels.size()),
                                   vectorizer.num_features(), svm_options);
  return std::make_unique<SvmIntentModel>(options.normalization, std::move(vectorizer),
                                          std::move(svm), labels, 1.0f, 0.0f);
}

// Temperature and out-of-scope threshold from out-of-fold decision values
// (AssignCalibrationFolds).
HeldOutCalibration CalibrateByCrossValidation(const std::vector<TrainingExample>& data,
                                              const std::vector<std::string>& labels,
                                              const SvmTrainingOptions& options,
                                              const SvmProgressCallback& progress,
                                              Clock::time_point start, int* folds_used) {
  const CalibrationFolds f = AssignCalibrationFolds(data, options.threshold_folds, options.seed);
  *folds_used = f.folds;
  if (f.folds == 0) return {};
  const size_t classes = labels.size();
  std::vector<float> scores(f.scored.size() * classes);
  for (int fold = 0; fold < f.folds; ++fold) {
    std::vector<TrainingExample> train;
    for (size_t i = 0; i < data.size(); ++i) {
      if (f.fold_of[i] != fold) train.push_back(data[i]);
    }
    const std::unique_ptr<SvmIntentModel> model =
        FitModel(train, labels, options, "cross-validation", {}, start);
    for (size_t j = 0; j < f.scored.size(); ++j) {
      if (f.fold_of_scored[j] == fold) {
        model->DecisionValues(f.scored_examples[j].text, scores.data() + j * classes);
      }
    }
    if (progress) progress({"cross-validation", fold + 1, f.folds, SecondsSince(start)});
  }
  return CalibrateOnHeldOut(scores, labels, f.scored_examples, options.oos_max_in_scope_loss);
}

}  // namespace

SvmTrainingResult TrainSvmModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const SvmTrainingOptions& options,
                                const SvmProgressCallback& progress) {
  const Clock::time_point start = Clock::now();
  SvmTrainingResult result;
  result.training_examples = all_training.size();

  result.data_sha256 = TrainingDataSha256(all_training);
  const auto [labels, train] =
      SplitForTraining(all_training, validation, options.validation_fraction, options.seed,
                       &result.heldout_examples, &result.heldout_from_split);

  if (progress) progress({"cross-validation", 0, options.threshold_folds, SecondsSince(start)});
  const HeldOutCalibration calibration =
      CalibrateByCrossValidation(train, labels, options, progress, start, &result.folds);
  const float temperature = calibration.temperature;
  const ThresholdChoice& threshold = calibration.threshold;
  result.cross_validated = threshold;

  std::unique_ptr<SvmIntentModel> model = FitModel(train, labels, options, "svm", progress, start);
  model->set_temperature(temperature);
  model->set_out_of_scope_threshold(threshold.threshold);

  result.heldout = Evaluate(*model, result.heldout_examples);
  result.heldout.latency = {};  // timed under training load: not a figure to keep

  if (result.heldout_from_split || (options.refit_with_validation && !validation.empty())) {
    // Held-out examples of intents the training data lacks cannot join:
    // the model has no class for them.
    std::vector<TrainingExample> everything = train;
    for (const TrainingExample& e : result.heldout_examples) {
      if (std::binary_search(labels.begin(), labels.end(), e.intent)) everything.push_back(e);
    }
    model = FitModel(everything, labels, options, "final model", progress, start);
    model->set_temperature(temperature);
    model->set_out_of_scope_threshold(threshold.threshold);
    result.refitted = true;
  }

  result.smoke_examples = SmokeExamples(all_training, options.smoke_examples_per_intent);
  result.seconds = SecondsSince(start);
  result.model = std::move(model);
  return result;
}

}  // namespace chatbot::nlu
