#include "nlu/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace chatbot::nlu {
namespace {

std::vector<float> Softmaxed(const std::vector<float>& scores, float temperature) {
  std::vector<float> p(scores.size(), -1.0f);
  Softmax(scores.data(), static_cast<int>(scores.size()), temperature, p.data());
  return p;
}

double Sum(const std::vector<float>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

TEST(SoftmaxTest, MatchesTheDefinitionAndSumsToOne) {
  const std::vector<float> p = Softmaxed({1.0f, 2.0f, 3.0f}, 1.0f);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(p[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(p[1], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(p[2], std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(Sum(p), 1.0, 1e-6);

  const std::vector<float> q = Softmaxed({-0.3f, 0.7f, 0.1f, -2.0f, 0.0f}, 0.8f);
  EXPECT_NEAR(Sum(q), 1.0, 1e-6);
  for (float x : q) EXPECT_GT(x, 0.0f);
  // The ranking is kept.
  EXPECT_GT(q[1], q[2]);
  EXPECT_GT(q[2], q[4]);
  EXPECT_GT(q[4], q[0]);
  EXPECT_GT(q[0], q[3]);

  EXPECT_EQ(Softmaxed({5.0f}, 1.0f), std::vector<float>{1.0f});
  EXPECT_EQ(Softmaxed({2.0f, 2.0f}, 1.0f), (std::vector<float>{0.5f, 0.5f}));
}

TEST(SoftmaxTest, StableForLargeScores) {
  const std::vector<float> p = Softmaxed({1000.0f, 1001.0f}, 1.0f);
  EXPECT_NEAR(p[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(p[1], std::exp(1.0) / (1.0 + std::exp(1.0)), 1e-6);
  const std::vector<float> n = Softmaxed({-1000.0f, -1001.0f}, 1.0f);
  EXPECT_NEAR(n[0], std::exp(1.0) / (1.0 + std::exp(1.0)), 1e-6);
  // Far apart: the smaller one underflows to 0, nothing becomes NaN.
  const std::vector<float> far = Softmaxed({-1e30f, 1e30f, 0.0f}, 0.01f);
  EXPECT_EQ(far[0], 0.0f);
  EXPECT_EQ(far[1], 1.0f);
  EXPECT_EQ(far[2], 0.0f);
}

TEST(SoftmaxTest, TemperatureSharpensOrFlattens) {
  // T = 2 on {0, ln 4}: exp(0) : exp(ln 4 / 2) = 1 : 2.
  const std::vector<float> t2 = Softmaxed({0.0f, std::log(4.0f)}, 2.0f);
  EXPECT_NEAR(t2[0], 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(t2[1], 2.0 / 3.0, 1e-6);
  const std::vector<float> t1 = Softmaxed({0.0f, std::log(4.0f)}, 1.0f);
  EXPECT_NEAR(t1[1], 0.8, 1e-6);
  // Scores / T is what counts.
  const std::vector<float> scaled = Softmaxed({0.0f, 2 * std::log(4.0f)}, 2.0f);
  EXPECT_NEAR(scaled[1], 0.8, 1e-6);

  const std::vector<float> scores = {1.0f, 2.0f, 4.0f};
  const float cold = Softmaxed(scores, 0.1f)[2];
  const float warm = Softmaxed(scores, 1.0f)[2];
  const float hot = Softmaxed(scores, 100.0f)[2];
  EXPECT_GT(cold, 0.999f);
  EXPECT_GT(cold, warm);
  EXPECT_GT(warm, hot);
  EXPECT_NEAR(hot, 1.0 / 3.0, 0.01);
}

TEST(SoftmaxTest, NoClassesWritesNothing) {
  float out = -1.0f;
  Softmax(nullptr, 0, 1.0f, &out);
  EXPECT_EQ(out, -1.0f);
}

// Labels drawn from softmax(s / T0): the maximum-likelihood T is near T0.
float FitOnSamples(float true_temperature, int rows, int classes, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> score(0.0f, 3.0f);
  std::vector<float> scores;
  std::vector<int> labels;
  std::vector<float> p(classes);
  for (int i = 0; i < rows; ++i) {
    std::vector<float> row(classes);
    for (float& s : row) s = score(random);
    Softmax(row.data(), classes, true_temperature, p.data());
    std::discrete_distribution<int> draw(p.begin(), p.end());
    labels.push_back(draw(random));
    scores.insert(scores.end(), row.begin(), row.end());
  }
  return FitTemperature(scores, classes, labels);
}

TEST(FitTemperatureTest, RecoversAKnownTemperature) {
  for (const float t0 : {0.5f, 1.0f, 2.5f, 6.0f}) {
    const float t = FitOnSamples(t0, 3000, 5, 1234);
    EXPECT_NEAR(t, t0, 0.2 * t0) << "T0 = " << t0;
  }
}

TEST(FitTemperatureTest, SeparableDataPushesTemperatureDown) {
  // The true label always has the best score: the likelihood keeps growing
  // as T falls, up to the lower bound 0.001 (in double precision the loss
  // log(1 + 2 exp(-1/T)) is exactly 0 below T ~ 0.027, so any T there is a
  // minimum).
  std::vector<float> scores;
  std::vector<int> labels;
  for (int i = 0; i < 50; ++i) {
    const int label = i % 3;
    for (int k = 0; k < 3; ++k) scores.push_back(k == label ? 1.0f : 0.0f);
    labels.push_back(label);
  }
  const float t = FitTemperature(scores, 3, labels);
  EXPECT_LT(t, 0.03f);
  EXPECT_GE(t, 0.00099f);

  // Labels unrelated to the scores: flatten as much as allowed (T -> 1000).
  std::vector<int> wrong;
  for (int i = 0; i < 50; ++i) wrong.push_back((i + 1) % 3);
  const float flat = FitTemperature(scores, 3, wrong);
  EXPECT_GT(flat, 100.0f);
  EXPECT_LE(flat, 1001.0f);
}

TEST(FitTemperatureTest, DegenerateInputsGiveOne) {
  EXPECT_EQ(FitTemperature({}, 3, {}), 1.0f);
  EXPECT_EQ(FitTemperature({1.0f, 2.0f}, 1, {0, 0}), 1.0f);
}

HeldOutOutcome InScope(float confidence, bool correct) {
  return {confidence, false, false, correct};
}
HeldOutOutcome Oos(float confidence, bool predicted_oos = false) {
  return {confidence, true, predicted_oos, predicted_oos};
}

// Recomputes the metrics the threshold gives (confidence < threshold means
// out of scope), to check the reported ones.
void ExpectConsistent(const std::vector<HeldOutOutcome>& outcomes, const ThresholdChoice& c) {
  size_t in_scope = 0, correct = 0, oos = 0, caught = 0;
  for (const HeldOutOutcome& o : outcomes) {
    const bool flagged = o.predicted_oos || o.confidence < c.threshold;
    if (o.expected_oos) {
      ++oos;
      caught += flagged;
    } else {
      ++in_scope;
      correct += !flagged && o.predicted_correct;
    }
  }
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, in_scope ? double(correct) / double(in_scope) : 0.0);
  EXPECT_DOUBLE_EQ(c.oos_recall, oos ? double(caught) / double(oos) : 0.0);
  EXPECT_TRUE(std::isfinite(c.threshold));
  EXPECT_GE(c.threshold, 0.0f);
  EXPECT_LE(c.threshold, 1.01f);
}

// The search's mechanics on a few examples, judged by the loss on the sample
// itself (z = 0): the confidence bound would forbid losing any of them.
constexpr double kSampleRate = 0.0;

// 4 in scope (3 right), 3 out of scope (one already predicted "oos").
const std::vector<HeldOutOutcome> kMixed = {
    InScope(0.9f, true), InScope(0.8f, true), InScope(0.7f, true), InScope(0.3f, false),
    Oos(0.2f),           Oos(0.5f),           Oos(0.6f, true),
};

TEST(OutOfScopeThresholdTest, ZeroBudgetLosesNothing) {
  // Below 0.7 only a wrong answer and out-of-scope examples: flag them all,
  // stop before the first correct answer.
  const ThresholdChoice c = ChooseOutOfScopeThreshold(kMixed, 0.0);
  EXPECT_GT(c.threshold, 0.6f);
  EXPECT_LE(c.threshold, 0.7f);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0);
  ExpectConsistent(kMixed, c);
}

TEST(OutOfScopeThresholdTest, LargeBudgetCatchesEveryOutOfScopeExample) {
  const ThresholdChoice c = ChooseOutOfScopeThreshold(kMixed, 1.0);
  EXPECT_GT(c.threshold, 0.9f);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.0);
  ExpectConsistent(kMixed, c);
}

TEST(OutOfScopeThresholdTest, BudgetIsAnUpperBoundInclusive) {
  // 4 in scope, all right; losing one costs exactly 0.25.
  const std::vector<HeldOutOutcome> outcomes = {
      InScope(0.9f, true), InScope(0.8f, true), InScope(0.7f, true), InScope(0.6f, true),
      Oos(0.65f),          Oos(0.75f),          Oos(0.85f),
  };
  ThresholdChoice c = ChooseOutOfScopeThreshold(outcomes, 0.25, kSampleRate);
  EXPECT_GT(c.threshold, 0.65f);
  EXPECT_LE(c.threshold, 0.7f);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0 / 3.0);
  ExpectConsistent(outcomes, c);

  // Just under one example's worth: nothing can be flagged (the lowest is correct).
  c = ChooseOutOfScopeThreshold(outcomes, 0.24, kSampleRate);
  EXPECT_LE(c.threshold, 0.6f);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.oos_recall, 0.0);
  ExpectConsistent(outcomes, c);

  // Two examples' worth.
  c = ChooseOutOfScopeThreshold(outcomes, 0.5, kSampleRate);
  EXPECT_GT(c.threshold, 0.75f);
  EXPECT_LE(c.threshold, 0.8f);
  EXPECT_DOUBLE_EQ(c.oos_recall, 2.0 / 3.0);
  ExpectConsistent(outcomes, c);
}

TEST(OutOfScopeThresholdTest, TiesAreFlaggedTogether) {
  // An out-of-scope example at the same confidence as a correct answer can
  // only be caught with it.
  const std::vector<HeldOutOutcome> outcomes = {
      InScope(0.9f, true), InScope(0.5f, true), Oos(0.5f), Oos(0.4f), Oos(0.5f),
  };
  ThresholdChoice c = ChooseOutOfScopeThreshold(outcomes, 0.0);
  EXPECT_GT(c.threshold, 0.4f);
  EXPECT_LE(c.threshold, 0.5f);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 1.0);
  ExpectConsistent(outcomes, c);

  c = ChooseOutOfScopeThreshold(outcomes, 0.5, kSampleRate);
  EXPECT_GT(c.threshold, 0.5f);
  EXPECT_LE(c.threshold, 0.9f);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.5);
  ExpectConsistent(outcomes, c);

  // Ties among out-of-scope examples only: all caught at once.
  const std::vector<HeldOutOutcome> oos_ties = {InScope(0.8f, true), Oos(0.3f), Oos(0.3f),
                                                Oos(0.3f)};
  c = ChooseOutOfScopeThreshold(oos_ties, 0.0);
  EXPECT_DOUBLE_EQ(c.oos_recall, 1.0);
  ExpectConsistent(oos_ties, c);
}

TEST(OutOfScopeThresholdTest, WithoutOutOfScopeExamplesFlagsOnlyWrongGuesses) {
  const std::vector<HeldOutOutcome> outcomes = {InScope(0.9f, true), InScope(0.8f, true),
                                                InScope(0.3f, false), InScope(0.2f, false)};
  const ThresholdChoice c = ChooseOutOfScopeThreshold(outcomes, 0.0);
  EXPECT_GT(c.threshold, 0.3f);
  EXPECT_LE(c.threshold, 0.8f);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(c.oos_recall, 0.0);
  ExpectConsistent(outcomes, c);
}

TEST(OutOfScopeThresholdTest, OnlyOutOfScopeExamplesOrNone) {
  const std::vector<HeldOutOutcome> all_oos = {Oos(0.3f), Oos(0.6f, true), Oos(0.9f)};
  const ThresholdChoice c = ChooseOutOfScopeThreshold(all_oos, 0.01);
  EXPECT_DOUBLE_EQ(c.in_scope_accuracy, 0.0);
  EXPECT_GE(c.oos_recall, 1.0 / 3.0);  // at least those already predicted "oos"
  ExpectConsistent(all_oos, c);

  const ThresholdChoice empty = ChooseOutOfScopeThreshold({}, 0.01);
  EXPECT_EQ(empty.threshold, 0.0f);
  EXPECT_EQ(empty.in_scope_accuracy, 0.0);
  EXPECT_EQ(empty.oos_recall, 0.0);
}

TEST(OutOfScopeThresholdTest, LossUpperBoundIsWilsonsScoreBound) {
  EXPECT_DOUBLE_EQ(LossUpperBound(3, 10, 0.0), 0.3);
  EXPECT_EQ(LossUpperBound(0, 0, kThresholdConfidenceZ), 0.0);
  // 1 % of 15,000 (CLINC150's training data): 0.14 points above.
  EXPECT_NEAR(LossUpperBound(150, 15000, kThresholdConfidenceZ), 0.011428, 0.000002);
  // Nothing lost of 100 still bounds the loss at 2.6 %.
  EXPECT_NEAR(LossUpperBound(0, 100, kThresholdConfidenceZ), 0.026347, 0.000002);
  // More examples, a tighter bound; more lost, a higher one.
  EXPECT_LT(LossUpperBound(10, 10000, 1.645), LossUpperBound(1, 1000, 1.645));
  EXPECT_LT(LossUpperBound(1, 1000, 1.645), LossUpperBound(2, 1000, 1.645));
  EXPECT_GT(LossUpperBound(1, 1000, 1.645), 0.001);
}

TEST(OutOfScopeThresholdTest, BoundedLossLeavesAMarginForNewData) {
  // 2,000 correct in-scope answers at confidences 0.0005 .. 1.0, and 100
  // out-of-scope examples below them all. On the sample, the 20 lowest correct
  // answers are exactly 1 point; their bound is over it, so fewer are lost.
  std::vector<HeldOutOutcome> outcomes;
  for (int i = 1; i <= 2000; ++i) outcomes.push_back(InScope(i / 2000.0f, true));
  for (int i = 0; i < 100; ++i) outcomes.push_back(Oos(i * 1e-6f));
  const ThresholdChoice on_sample = ChooseOutOfScopeThreshold(outcomes, 0.01, kSampleRate);
  EXPECT_DOUBLE_EQ(on_sample.in_scope_accuracy, 0.99);
  ExpectConsistent(outcomes, on_sample);

  const ThresholdChoice bounded = ChooseOutOfScopeThreshold(outcomes, 0.01);
  EXPECT_LT(bounded.threshold, on_sample.threshold);
  const auto lost = static_cast<size_t>(std::lround((1 - bounded.in_scope_accuracy) * 2000));
  EXPECT_LE(LossUpperBound(lost, 2000, kThresholdConfidenceZ), 0.01);
  EXPECT_GT(LossUpperBound(lost + 1, 2000, kThresholdConfidenceZ), 0.01);
  EXPECT_EQ(lost, 12u);
  EXPECT_DOUBLE_EQ(bounded.oos_recall, 1.0);  // every one is below the correct answers
  ExpectConsistent(outcomes, bounded);
}

}  // namespace
}  // namespace chatbot::nlu
