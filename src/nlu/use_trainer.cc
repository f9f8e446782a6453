#include "nlu/use_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/evaluation.h"
#include "nlu/heldout_calibration.h"
#include "nlu/training_split.h"
#include "nlu/use_encoder_files.h"

namespace chatbot::nlu {
namespace {

constexpr int kDim = use::kEmbeddingSize;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<float> EncodeAll(const use::UseEncoder& encoder,
                             const std::vector<TrainingExample>& examples) {
  std::vector<float> out;
  out.reserve(examples.size() * kDim);
  constexpr size_t kBatch = 64;
  std::vector<std::string> texts;
  for (size_t begin = 0; begin < examples.size(); begin += kBatch) {
    texts.clear();
    for (size_t i = begin; i < std::min(examples.size(), begin + kBatch); ++i) {
      texts.push_back(examples[i].text);
    }
    const std::vector<float> part = encoder.EncodeBatch(texts);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// The rows of `x` [examples, kDim] listed in `rows`.
std::vector<float> SelectRows(const std::vector<float>& x, const std::vector<size_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * kDim);
  for (size_t r : rows) {
    out.insert(out.end(), x.begin() + static_cast<ptrdiff_t>(r * kDim),
               x.begin() + static_cast<ptrdiff_t>((r + 1) * kDim));
  }
  return out;
}

UseHead FitOn(const std::vector<TrainingExample>& examples, const std::vector<float>& x,
              const std::vector<size_t>& rows, const std::map<std::string, int>& index,
              const UseTrainingOptions& options) {
  std::vector<std::string> texts;
  std::vector<int> y;
  for (size_t r : rows) {
    texts.push_back(examples[r].text);
    y.push_back(index.at(examples[r].intent));
  }
  return UseHead::Fit(texts, SelectRows(x, rows), kDim, y, static_cast<int>(index.size()),
                      options.head);
}

std::vector<std::string> TextsOf(const std::vector<TrainingExample>& examples) {
  std::vector<std::string> texts;
  texts.reserve(examples.size());
  for (const TrainingExample& e : examples) texts.push_back(e.text);
  return texts;
}

// Temperature and threshold from out-of-fold scores of `train` (embeddings
// `x`; AssignCalibrationFolds). Returns nothing (folds 0) when fewer than
// two folds are possible.
std::optional<HeldOutCalibration> CalibrateByCrossValidation(
    const std::vector<TrainingExample>& train, const std::vector<float>& x,
    const std::vector<std::string>& labels, const std::map<std::string, int>& index,
    const UseTrainingOptions& options, int* folds_used) {
  const CalibrationFolds f = AssignCalibrationFolds(train, options.threshold_folds, options.seed);
  *folds_used = f.folds;
  if (f.folds == 0) return std::nullopt;
  const size_t classes = labels.size();
  std::vector<float> scores(f.scored.size() * classes);
  for (int fold = 0; fold < f.folds; ++fold) {
    std::vector<size_t> learn, score;
    for (size_t i = 0; i < train.size(); ++i) {
      if (f.fold_of[i] != fold) learn.push_back(i);
    }
    for (size_t j = 0; j < f.scored.size(); ++j) {
      if (f.fold_of_scored[j] == fold) score.push_back(j);
    }
    const UseHead head = FitOn(train, x, learn, index, options);
    std::vector<std::string> texts;
    std::vector<size_t> rows;
    for (size_t j : score) {
      texts.push_back(f.scored_examples[j].text);
      rows.push_back(f.scored[j]);
    }
    const std::vector<float> part = head.Scores(texts, SelectRows(x, rows));
    for (size_t k = 0; k < score.size(); ++k) {
      std::copy_n(part.begin() + static_cast<ptrdiff_t>(k * classes), classes,
                  scores.begin() + static_cast<ptrdiff_t>(score[k] * classes));
    }
  }
  return CalibrateOnHeldOut(scores, labels, f.scored_examples, options.oos_max_in_scope_loss);
}

}  // namespace

UseTrainingResult TrainUseModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const UseTrainingOptions& options) {
  const Clock::time_point start = Clock::now();
  UseTrainingResult result;
  result.data_sha256 = TrainingDataSha256(all_training);
  const auto [labels, train] =
      SplitForTraining(all_training, validation, options.validation_fraction, options.seed,
                       &result.heldout_examples, &result.heldout_from_split);
  std::map<std::string, int> index;
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = static_cast<int>(i);

  std::map<std::string, std::string> encoder_files = ReadEncoderFiles(options.encoder);
  const std::shared_ptr<const use::UseEncoder> encoder = LoadEncoderFrom(options.encoder);

  const Clock::time_point encode_start = Clock::now();
  const std::vector<float> train_x = EncodeAll(*encoder, train);
  const std::vector<float> heldout_x = EncodeAll(*encoder, result.heldout_examples);
  result.encode_seconds = SecondsSince(encode_start);
  std::vector<size_t> all_rows(train.size());
  std::iota(all_rows.begin(), all_rows.end(), 0);

  std::optional<HeldOutCalibration> calibration =
      CalibrateByCrossValidation(train, train_x, labels, index, options, &result.folds);
  auto model = std::make_unique<UseIntentModel>(
      encoder, FitOn(train, train_x, all_rows, index, options), labels, 1.0f, 0.0f);
  if (!calibration && !result.heldout_examples.empty()) {
    calibration =
        CalibrateOnHeldOut(model->ScoresOf(TextsOf(result.heldout_examples), heldout_x), labels,
                           result.heldout_examples, options.oos_max_in_scope_loss);
  }
  if (calibration) {
    model->set_temperature(calibration->temperature);
    model->set_out_of_scope_threshold(calibration->threshold.threshold);
    result.cross_validated = calibration->threshold;
  }

  if (!result.heldout_examples.empty()) {
    std::vector<std::string> expected, predicted;
    for (const auto& e : result.heldout_examples) expected.push_back(e.intent);
    for (const auto& p : model->PredictBatch(TextsOf(result.heldout_examples), 1)) {
      predicted.push_back(p.intent);
    }
    result.heldout = ScorePredictions(expected, predicted);

    if (result.heldout_from_split || options.refit_with_validation) {
      // Held-out examples of intents the training data lacks cannot join.
      std::vector<TrainingExample> everything = train;
      std::vector<float> x = train_x;
      for (size_t i = 0; i < result.heldout_examples.size(); ++i) {
        if (!index.contains(result.heldout_examples[i].intent)) continue;
        everything.push_back(result.heldout_examples[i]);
        x.insert(x.end(), heldout_x.begin() + static_cast<ptrdiff_t>(i * kDim),
                 heldout_x.begin() + static_cast<ptrdiff_t>((i + 1) * kDim));
      }
      std::vector<size_t> rows(everything.size());
      std::iota(rows.begin(), rows.end(), 0);
      const float temperature = model->temperature();
      const float threshold = model->out_of_scope_threshold();
      result.scored_model = std::move(model);
      model = std::make_unique<UseIntentModel>(encoder, FitOn(everything, x, rows, index, options),
                                               labels, temperature, threshold);
      result.refitted = true;
    }
  }
  model->SetEncoderFiles(std::move(encoder_files));
  result.smoke_examples = SmokeExamples(all_training, options.smoke_examples_per_intent);
  result.model = std::move(model);
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace chatbot::nlu
