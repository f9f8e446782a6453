#include "nlu/svm_trainer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/heldout_calibration.h"

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

// Temperature and out-of-scope threshold from out-of-fold decision values:
// each example of `data` is scored by a model trained on the other folds.
// Examples of intents with a single example take no part in the scoring
// (left out, their intent would be unknown to the model) and are learned
// in every fold.
HeldOutCalibration CalibrateByCrossValidation(const std::vector<TrainingExample>& data,
                                              const std::vector<std::string>& labels,
                                              const SvmTrainingOptions& options,
                                              const SvmProgressCallback& progress,
                                              Clock::time_point start, int* folds_used) {
  std::map<std::string, int> counts;
  for (const TrainingExample& e : data) ++counts[e.intent];
  std::vector<size_t> scored;  // indices into data
  std::vector<TrainingExample> scored_examples;
  for (size_t i = 0; i < data.size(); ++i) {
    if (counts[data[i].intent] >= 2) {
      scored.push_back(i);
      scored_examples.push_back(data[i]);
    }
  }
  const int folds = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(std::max(options.threshold_folds, 0)), scored.size()));
  *folds_used = folds < 2 ? 0 : folds;
  if (folds < 2) return {};
  const std::vector<int> fold_of_scored = AssignFolds(scored_examples, folds, options.seed);
  std::vector<int> fold_of(data.size(), -1);  // -1: learned in every fold
  for (size_t j = 0; j < scored.size(); ++j) fold_of[scored[j]] = fold_of_scored[j];

  const size_t classes = labels.size();
  std::vector<float> scores(scored.size() * classes);
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<TrainingExample> train;
    for (size_t i = 0; i < data.size(); ++i) {
      if (fold_of[i] != fold) train.push_back(data[i]);
    }
    const std::unique_ptr<SvmIntentModel> model =
        FitModel(train, labels, options, "cross-validation", {}, start);
    for (size_t j = 0; j < scored.size(); ++j) {
      if (fold_of_scored[j] == fold) {
        model->DecisionValues(scored_examples[j].text, scores.data() + j * classes);
      }
    }
    if (progress) progress({"cross-validation", fold + 1, folds, SecondsSince(start)});
  }
  return CalibrateOnHeldOut(scores, labels, scored_examples, options.oos_max_in_scope_loss);
}

}  // namespace

std::vector<std::string> SortedLabels(const std::vector<TrainingExample>& data) {
  std::vector<std::string> labels;
  for (const TrainingExample& e : data) labels.push_back(e.intent);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

void SplitStratified(const std::vector<TrainingExample>& data, double fraction, uint64_t seed,
                     std::vector<TrainingExample>* train, std::vector<TrainingExample>* heldout) {
  std::map<std::string, std::vector<size_t>> by_intent;
  for (size_t i = 0; i < data.size(); ++i) by_intent[data[i].intent].push_back(i);
  std::mt19937_64 random(seed);
  std::vector<bool> held(data.size(), false);
  for (auto& [intent, indices] : by_intent) {
    for (size_t s = 0; s + 1 < indices.size(); ++s) {
      std::swap(indices[s], indices[s + random() % (indices.size() - s)]);
    }
    size_t count = static_cast<size_t>(static_cast<double>(indices.size()) * fraction + 0.5);
    if (indices.size() < count + 2) count = indices.size() > 2 ? indices.size() - 2 : 0;
    for (size_t j = 0; j < count; ++j) held[indices[j]] = true;
  }
  for (size_t i = 0; i < data.size(); ++i) (held[i] ? heldout : train)->push_back(data[i]);
}

SvmTrainingResult TrainSvmModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const SvmTrainingOptions& options,
                                const SvmProgressCallback& progress) {
  const Clock::time_point start = Clock::now();
  SvmTrainingResult result;
  result.training_examples = all_training.size();

  result.data_sha256 = TrainingDataSha256(all_training);

  const std::vector<std::string> labels = SortedLabels(all_training);
  if (labels.size() < 2) {
    throw DataError("training data has " + std::to_string(labels.size()) +
                    " intent(s); a classifier needs at least two");
  }

  std::vector<TrainingExample> train;
  if (validation.empty()) {
    SplitStratified(all_training, options.validation_fraction, options.seed, &train,
                    &result.heldout_examples);
    result.heldout_from_split = !result.heldout_examples.empty();
  } else {
    train = all_training;
    result.heldout_examples = validation;
  }

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
