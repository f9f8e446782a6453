// The out-of-scope threshold keeps its promise on unseen data: trained on
// CLINC150 with its out-of-scope examples hidden, the threshold chosen by
// cross-validation costs at most nlu.oos_max_accuracy_loss of in-scope
// accuracy on the test split. For comparison the test also measures what a
// threshold chosen on the one held-out split costs there.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "ci_skip.h"
#include "nlu/heldout_calibration.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"
#include "nlu/training_split.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;

std::vector<TrainingExample> InScope(std::vector<TrainingExample> examples) {
  std::erase_if(examples, [](const TrainingExample& e) { return e.intent == kOutOfScopeLabel; });
  return examples;
}

// In-scope accuracy on `test` without and with `threshold` (the model's own
// threshold replaced), as fractions.
std::pair<double, double> Accuracies(SvmIntentModel& model, float threshold,
                                     const std::vector<TrainingExample>& test) {
  model.set_out_of_scope_threshold(threshold);
  size_t without = 0, with = 0;
  for (const TrainingExample& e : test) {
    const IntentPrediction p = model.Predict(e.text, 1);
    without += p.ranking.front().intent == e.intent;
    with += p.intent == e.intent;
  }
  const double n = static_cast<double>(test.size());
  return {without / n, with / n};
}

TEST(OosThresholdTest, CrossValidatedThresholdKeepsItsPromiseOnClinc150Test) {
  const fs::path dir = fs::path(CHATBOT_SOURCE_DIR) / "../shared/datasets/clinc150";
  if (!fs::exists(dir / "train.jsonl")) {
    CHATBOT_SKIP("CLINC150 is not available at " << dir);
  }
  const std::vector<TrainingExample> train =
      InScope(LoadTrainingData({dir / "train.jsonl"}).examples);
  const std::vector<TrainingExample> test =
      InScope(LoadTrainingData({dir / "test.jsonl"}, {.training = false}).examples);
  SvmTrainingOptions options;  // the defaults: 1 point promised, 5 folds
  const auto start = std::chrono::steady_clock::now();
  SvmTrainingResult result = TrainSvmModel(train, {}, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.folds, 5);
  const float threshold = result.model->out_of_scope_threshold();
  ASSERT_GT(threshold, 0);  // a threshold that costs nothing would prove nothing
  const auto [without, with] = Accuracies(*result.model, threshold, test);

  // The former choice, on the held-out split alone, by the model trained
  // without it.
  std::vector<TrainingExample> part, heldout;
  SplitStratified(train, options.validation_fraction, options.seed, &part, &heldout);
  SvmTrainingOptions single = options;
  single.refit_with_validation = false;
  SvmTrainingResult split_model = TrainSvmModel(part, heldout, single);
  const std::vector<std::string>& labels = split_model.model->labels();
  std::vector<float> scores(heldout.size() * labels.size());
  for (size_t i = 0; i < heldout.size(); ++i) {
    split_model.model->DecisionValues(heldout[i].text, scores.data() + i * labels.size());
  }
  const HeldOutCalibration on_split =
      CalibrateOnHeldOut(scores, labels, heldout, options.oos_max_in_scope_loss);
  result.model->set_temperature(on_split.temperature);
  const auto [split_without, split_with] =
      Accuracies(*result.model, on_split.threshold.threshold, test);

  std::printf(
      "CLINC150 test, %zu in-scope examples, trained in %.1f s: in-scope accuracy %.2f%% without "
      "the threshold; cross-validated threshold %.4f: %.2f%% (loss %.2f points, %.2f expected "
      "from the folds); threshold chosen on the %zu-example split %.4f: %.2f%% (loss %.2f "
      "points)\n",
      test.size(), seconds, without * 100, threshold, with * 100, (without - with) * 100,
      (result.cross_validated.base_in_scope_accuracy - result.cross_validated.in_scope_accuracy) *
          100,
      heldout.size(), on_split.threshold.threshold, split_with * 100,
      (split_without - split_with) * 100);
  // The promise, plus two standard errors of a 1 % loss measured on 4,500
  // examples (sqrt(0.01 * 0.99 / 4500) = 0.15 points): the test split is a
  // sample too.
  EXPECT_LE(without - with, options.oos_max_in_scope_loss + 0.003);
}

}  // namespace
}  // namespace chatbot::nlu
