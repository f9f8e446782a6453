#include "nlu/calibration.h"

#include <algorithm>
#include <cmath>

namespace chatbot::nlu {

void Softmax(const float* scores, int classes, float temperature, float* probabilities) {
  if (classes <= 0) return;
  const float inverse = 1.0f / temperature;
  const float top = *std::max_element(scores, scores + classes);
  float sum = 0;
  for (int k = 0; k < classes; ++k) {
    probabilities[k] = std::exp((scores[k] - top) * inverse);
    sum += probabilities[k];
  }
  const float scale = 1.0f / sum;
  for (int k = 0; k < classes; ++k) probabilities[k] *= scale;
}

namespace {

double MeanNegativeLogLikelihood(const std::vector<float>& scores, int classes,
                                 const std::vector<int>& labels, double temperature) {
  double total = 0;
  const double inverse = 1.0 / temperature;
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = scores.data() + i * classes;
    const double top = *std::max_element(row, row + classes);
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += std::exp((row[k] - top) * inverse);
    total += std::log(sum) - (row[labels[i]] - top) * inverse;
  }
  return labels.empty() ? 0 : total / static_cast<double>(labels.size());
}

}  // namespace

float FitTemperature(const std::vector<float>& scores, int classes,
                     const std::vector<int>& labels) {
  if (labels.empty() || classes < 2) return 1.0f;
  // The likelihood is unimodal in log T: golden-section search on log T.
  double lo = std::log(1e-3), hi = std::log(1e3);
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
  double fa = MeanNegativeLogLikelihood(scores, classes, labels, std::exp(a));
  double fb = MeanNegativeLogLikelihood(scores, classes, labels, std::exp(b));
  for (int step = 0; step < 60 && hi - lo > 1e-4; ++step) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = MeanNegativeLogLikelihood(scores, classes, labels, std::exp(a));
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = MeanNegativeLogLikelihood(scores, classes, labels, std::exp(b));
    }
  }
  return static_cast<float>(std::exp((lo + hi) / 2));
}

double LossUpperBound(size_t lost, size_t in_scope, double z) {
  if (in_scope == 0) return 0;
  const double n = static_cast<double>(in_scope);
  const double p = static_cast<double>(lost) / n;
  if (z <= 0) return p;
  // Wilson's score interval: unlike p + z * sqrt(p (1 - p) / n), it stays
  // above zero when nothing was lost, where few examples prove little.
  const double z2 = z * z;
  return (p + z2 / (2 * n) + z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

ThresholdChoice ChooseOutOfScopeThreshold(const std::vector<HeldOutOutcome>& outcomes,
                                          double max_in_scope_loss, double confidence_z) {
  size_t in_scope = 0, oos = 0, correct = 0, oos_caught = 0;
  for (const HeldOutOutcome& o : outcomes) {
    if (o.expected_oos) {
      ++oos;
      oos_caught += o.predicted_oos;
    } else {
      ++in_scope;
      correct += o.predicted_correct;
    }
  }
  ThresholdChoice choice;
  auto rate = [](size_t part, size_t whole) { return whole ? double(part) / double(whole) : 0.0; };
  choice.in_scope_accuracy = rate(correct, in_scope);
  choice.base_in_scope_accuracy = choice.in_scope_accuracy;
  choice.oos_recall = rate(oos_caught, oos);
  if (in_scope == 0) return choice;

  // Raise the threshold past each held-out confidence in turn, lowest first.
  // Passing an example flags it out of scope: a correct in-scope answer is
  // lost, an out-of-scope example not yet caught is caught.
  std::vector<const HeldOutOutcome*> order;
  for (const HeldOutOutcome& o : outcomes) order.push_back(&o);
  std::sort(order.begin(), order.end(),
            [](const auto* x, const auto* y) { return x->confidence < y->confidence; });
  size_t lost = 0, caught = oos_caught;
  for (size_t i = 0; i < order.size();) {
    const float confidence = order[i]->confidence;
    size_t lost_here = 0, caught_here = 0;
    for (; i < order.size() && order[i]->confidence == confidence; ++i) {
      const HeldOutOutcome& o = *order[i];
      if (o.predicted_oos) continue;  // already out of scope
      if (o.expected_oos)
        ++caught_here;
      else if (o.predicted_correct)
        ++lost_here;
    }
    // Flagging no correct answer is allowed whatever the sample's size: no
    // threshold costs less, and without it a small data set would get no
    // out-of-scope guard at all.
    const size_t would_lose = lost + lost_here;
    if (would_lose > 0 && LossUpperBound(would_lose, in_scope, confidence_z) > max_in_scope_loss) {
      break;
    }
    lost += lost_here;
    caught += caught_here;
    // Just above this confidence, so equal confidences are flagged too.
    choice.threshold = std::nextafter(confidence, 2.0f);
    choice.in_scope_accuracy = rate(correct - lost, in_scope);
    choice.oos_recall = rate(caught, oos);
  }
  return choice;
}

}  // namespace chatbot::nlu
