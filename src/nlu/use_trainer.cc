#include "nlu/use_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/heldout_calibration.h"
#include "nlu/svm_trainer.h"
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

struct Head {
  std::vector<float> weight;  // [classes, kDim]
  std::vector<float> bias;    // [classes]
};

// Multinomial logistic regression on `x` [rows, kDim] with labels `y`.
Head FitHead(const std::vector<float>& x, const std::vector<int>& y, int classes,
             const UseTrainingOptions& options) {
  const size_t rows = y.size();
  const size_t params = static_cast<size_t>(classes) * (kDim + 1);
  std::vector<float> theta(params, 0.0f), grad(params), m(params, 0.0f), v(params, 0.0f);
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.seed);
  std::vector<float> logits(static_cast<size_t>(classes)), p(static_cast<size_t>(classes));
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const size_t batch = static_cast<size_t>(std::max(1, options.batch_size));
  const size_t steps_per_epoch = (rows + batch - 1) / batch;
  const double total_steps = static_cast<double>(steps_per_epoch) * options.epochs;
  int64_t step = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t begin = 0; begin < rows; begin += batch) {
      const size_t end = std::min(rows, begin + batch);
      std::fill(grad.begin(), grad.end(), 0.0f);
      for (size_t i = begin; i < end; ++i) {
        const float* xi = x.data() + order[i] * kDim;
        for (int c = 0; c < classes; ++c) {
          const float* w = theta.data() + static_cast<size_t>(c) * (kDim + 1);
          float s = w[kDim];
          for (int k = 0; k < kDim; ++k) s += w[k] * xi[k];
          logits[static_cast<size_t>(c)] = s;
        }
        Softmax(logits.data(), classes, 1.0f, p.data());
        p[static_cast<size_t>(y[order[i]])] -= 1.0f;
        for (int c = 0; c < classes; ++c) {
          const float g = p[static_cast<size_t>(c)];
          if (std::fabs(g) < 1e-7f) continue;
          float* gw = grad.data() + static_cast<size_t>(c) * (kDim + 1);
          for (int k = 0; k < kDim; ++k) gw[k] += g * xi[k];
          gw[kDim] += g;
        }
      }
      const float scale = 1.0f / static_cast<float>(end - begin);
      ++step;
      // Cosine decay of the learning rate to zero over the run.
      const double lr = options.learning_rate * 0.5 *
                        (1 + std::cos(M_PI * static_cast<double>(step) / total_steps));
      const double correction1 = 1 - std::pow(beta1, static_cast<double>(step));
      const double correction2 = 1 - std::pow(beta2, static_cast<double>(step));
      for (size_t j = 0; j < params; ++j) {
        const bool is_bias = j % (kDim + 1) == kDim;
        const float g =
            grad[j] * scale + (is_bias ? 0.0f : static_cast<float>(options.l2) * theta[j]);
        m[j] = static_cast<float>(beta1 * m[j] + (1 - beta1) * g);
        v[j] = static_cast<float>(beta2 * v[j] + (1 - beta2) * g * g);
        theta[j] -=
            static_cast<float>(lr * (m[j] / correction1) / (std::sqrt(v[j] / correction2) + eps));
      }
    }
  }
  Head head;
  head.weight.resize(static_cast<size_t>(classes) * kDim);
  head.bias.resize(static_cast<size_t>(classes));
  for (int c = 0; c < classes; ++c) {
    const float* w = theta.data() + static_cast<size_t>(c) * (kDim + 1);
    std::copy(w, w + kDim, head.weight.begin() + static_cast<ptrdiff_t>(c) * kDim);
    head.bias[static_cast<size_t>(c)] = w[kDim];
  }
  return head;
}

}  // namespace

UseTrainingResult TrainUseModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const UseTrainingOptions& options) {
  const Clock::time_point start = Clock::now();
  UseTrainingResult result;
  result.data_sha256 = TrainingDataSha256(all_training);
  const std::vector<std::string> labels = SortedLabels(all_training);
  if (labels.size() < 2) {
    throw DataError("training data has " + std::to_string(labels.size()) +
                    " intent(s); a classifier needs at least two");
  }
  std::map<std::string, int> index;
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = static_cast<int>(i);

  std::map<std::string, std::string> encoder_files = ReadEncoderFiles(options.encoder);
  const std::shared_ptr<const use::UseEncoder> encoder = LoadEncoderFrom(options.encoder);

  std::vector<TrainingExample> train;
  if (validation.empty()) {
    SplitStratified(all_training, options.validation_fraction, options.seed, &train,
                    &result.heldout_examples);
    result.heldout_from_split = !result.heldout_examples.empty();
  } else {
    train = all_training;
    result.heldout_examples = validation;
  }

  const Clock::time_point encode_start = Clock::now();
  const std::vector<float> train_x = EncodeAll(*encoder, train);
  const std::vector<float> heldout_x = EncodeAll(*encoder, result.heldout_examples);
  result.encode_seconds = SecondsSince(encode_start);
  std::vector<int> train_y;
  for (const auto& e : train) train_y.push_back(index.at(e.intent));

  const int classes = static_cast<int>(labels.size());
  Head head = FitHead(train_x, train_y, classes, options);
  auto model =
      std::make_unique<UseIntentModel>(encoder, head.weight, head.bias, labels, 1.0f, 0.0f);

  if (!result.heldout_examples.empty()) {
    const std::vector<float> logits = model->LogitsOf(heldout_x);
    const HeldOutCalibration calibration =
        CalibrateOnHeldOut(logits, labels, result.heldout_examples, options.oos_max_in_scope_loss);
    model->set_temperature(calibration.temperature);
    model->set_out_of_scope_threshold(calibration.threshold.threshold);
    std::vector<std::string> expected, predicted;
    std::vector<std::string> texts;
    for (const auto& e : result.heldout_examples) {
      expected.push_back(e.intent);
      texts.push_back(e.text);
    }
    for (const auto& p : model->PredictBatch(texts, 1)) predicted.push_back(p.intent);
    result.heldout = ScorePredictions(expected, predicted);

    if (result.heldout_from_split || options.refit_with_validation) {
      // Held-out examples of intents the training data lacks cannot join.
      std::vector<float> x = train_x;
      std::vector<int> y = train_y;
      for (size_t i = 0; i < result.heldout_examples.size(); ++i) {
        const auto it = index.find(result.heldout_examples[i].intent);
        if (it == index.end()) continue;
        x.insert(x.end(), heldout_x.begin() + static_cast<ptrdiff_t>(i * kDim),
                 heldout_x.begin() + static_cast<ptrdiff_t>((i + 1) * kDim));
        y.push_back(it->second);
      }
      head = FitHead(x, y, classes, options);
      const float temperature = model->temperature();
      const float threshold = model->out_of_scope_threshold();
      result.scored_model = std::move(model);
      model = std::make_unique<UseIntentModel>(encoder, head.weight, head.bias, labels, temperature,
                                               threshold);
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
