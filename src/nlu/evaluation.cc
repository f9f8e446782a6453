#include "nlu/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/error.h"

namespace chatbot::nlu {
namespace {

// num / den, or 0 when there is nothing to divide by. Every ratio goes through
// here so that empty inputs can never produce NaN.
double Ratio(double num, double den) {
  return den > 0 ? num / den : 0.0;
}

double F1(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

// Nearest-rank percentile of sorted, non-empty samples: the smallest value
// with at least p% of the samples at or below it.
double NearestRank(const std::vector<double>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Uniform-enough integer in [0, n). std::uniform_int_distribution and
// std::shuffle are implementation-defined, so folds would differ between
// standard libraries; mt19937_64 itself is fully specified. The modulo bias is
// below 2^-40 for any realistic data set.
size_t Below(std::mt19937_64& rng, size_t n) {
  return static_cast<size_t>(rng() % n);
}

void ValidateFolds(size_t examples, int folds) {
  if (folds < kMinFolds || folds > kMaxFolds) {
    throw DataError("cross-validation needs between " + std::to_string(kMinFolds) + " and " +
                    std::to_string(kMaxFolds) + " folds, got " + std::to_string(folds));
  }
  if (examples < static_cast<size_t>(folds)) {
    throw DataError("cross-validation with " + std::to_string(folds) + " folds needs at least " +
                    std::to_string(folds) + " examples, got " + std::to_string(examples));
  }
}

}  // namespace

LatencySummary SummarizeLatencies(std::vector<double> latencies_us) {
  LatencySummary summary;
  if (latencies_us.empty()) return summary;
  std::sort(latencies_us.begin(), latencies_us.end());
  double total = 0;
  for (double v : latencies_us) total += v;
  summary.mean_us = total / static_cast<double>(latencies_us.size());
  summary.p50_us = NearestRank(latencies_us, 50);
  summary.p90_us = NearestRank(latencies_us, 90);
  summary.p99_us = NearestRank(latencies_us, 99);
  summary.max_us = latencies_us.back();
  return summary;
}

EvaluationReport ScorePredictions(const std::vector<std::string>& expected,
                                  const std::vector<std::string>& predicted,
                                  std::vector<double> latencies_us) {
  if (expected.size() != predicted.size()) {
    throw std::invalid_argument("ScorePredictions: " + std::to_string(expected.size()) +
                                " expected labels but " + std::to_string(predicted.size()) +
                                " predictions");
  }
  EvaluationReport report;
  report.examples = expected.size();
  report.latency = SummarizeLatencies(std::move(latencies_us));

  // Label -> index into the sorted label list (std::map iterates sorted).
  std::map<std::string, size_t> index;
  for (const auto& label : expected) index.emplace(label, 0);
  for (const auto& label : predicted) index.emplace(label, 0);
  report.labels.reserve(index.size());
  for (auto& [label, i] : index) {
    i = report.labels.size();
    report.labels.push_back(label);
  }
  const size_t n_labels = report.labels.size();
  report.confusion.assign(n_labels, std::vector<int>(n_labels, 0));
  for (size_t i = 0; i < expected.size(); ++i) {
    ++report.confusion[index.at(expected[i])][index.at(predicted[i])];
  }

  // Everything below is derived from the confusion matrix alone, which is
  // what lets cross-validation merge folds by summing matrices.
  std::vector<int> row_sum(n_labels, 0), col_sum(n_labels, 0);
  int correct = 0;
  for (size_t e = 0; e < n_labels; ++e) {
    for (size_t p = 0; p < n_labels; ++p) {
      const int c = report.confusion[e][p];
      row_sum[e] += c;
      col_sum[p] += c;
      if (e == p) correct += c;
    }
  }
  report.accuracy = Ratio(correct, static_cast<double>(report.examples));

  double f1_total = 0;
  int labels_expected = 0;
  report.per_intent.reserve(n_labels);
  for (size_t i = 0; i < n_labels; ++i) {
    IntentScores s;
    s.intent = report.labels[i];
    const int tp = report.confusion[i][i];
    // An intent that was never predicted has precision 0 rather than
    // undefined: it is a miss, and 0 keeps macro averages and JSON finite.
    s.precision = Ratio(tp, col_sum[i]);
    s.recall = Ratio(tp, row_sum[i]);
    s.f1 = F1(s.precision, s.recall);
    s.support = row_sum[i];
    if (s.support > 0) {
      f1_total += s.f1;
      ++labels_expected;
    }
    report.per_intent.push_back(std::move(s));
  }
  report.macro_f1 = Ratio(f1_total, labels_expected);

  const auto oos = index.find(kOutOfScopeLabel);
  const bool oos_known = oos != index.end();
  const size_t oos_i = oos_known ? oos->second : 0;
  report.has_out_of_scope = oos_known && row_sum[oos_i] > 0;
  if (oos_known) {
    const int tp = report.confusion[oos_i][oos_i];
    report.oos_recall = Ratio(tp, row_sum[oos_i]);
    report.oos_precision = Ratio(tp, col_sum[oos_i]);
    report.in_scope_accuracy =
        Ratio(correct - tp, static_cast<double>(report.examples) - row_sum[oos_i]);
  } else {
    report.in_scope_accuracy = report.accuracy;
  }

  for (size_t e = 0; e < n_labels; ++e) {
    for (size_t p = 0; p < n_labels; ++p) {
      if (e != p && report.confusion[e][p] > 0) {
        report.confused_pairs.push_back(
            {report.labels[e], report.labels[p], report.confusion[e][p]});
      }
    }
  }
  // Cells were visited in (expected, predicted) order, so a stable sort by
  // count keeps ties in label order and the report is deterministic.
  std::stable_sort(report.confused_pairs.begin(), report.confused_pairs.end(),
                   [](const ConfusedPair& a, const ConfusedPair& b) { return a.count > b.count; });
  if (report.confused_pairs.size() > kMaxConfusedPairs) {
    report.confused_pairs.resize(kMaxConfusedPairs);
  }
  return report;
}

namespace {

// Runs `model` over `examples`, appending to the output vectors; shared by
// Evaluate and CrossValidate (which pools all folds before scoring).
// `best_ranked` gets the top of each ranking: the decision the threshold
// did not change.
void PredictAll(const IntentClassifier& model, const std::vector<TrainingExample>& examples,
                std::vector<std::string>& expected, std::vector<std::string>& predicted,
                std::vector<std::string>& best_ranked, std::vector<double>& latencies_us) {
  using Clock = std::chrono::steady_clock;
  for (const auto& example : examples) {
    const auto start = Clock::now();
    IntentPrediction prediction = model.Predict(example.text, 1);
    const auto stop = Clock::now();
    latencies_us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
    expected.push_back(example.intent);
    best_ranked.push_back(prediction.ranking.empty() ? prediction.intent
                                                     : prediction.ranking.front().intent);
    predicted.push_back(std::move(prediction.intent));
  }
}

// Scores the pooled predictions, with what the threshold cost.
EvaluationReport ScoreWithThresholdCost(const std::vector<std::string>& expected,
                                        const std::vector<std::string>& predicted,
                                        const std::vector<std::string>& best_ranked,
                                        std::vector<double> latencies_us) {
  EvaluationReport report = ScorePredictions(expected, predicted, std::move(latencies_us));
  size_t in_scope = 0, correct = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] == kOutOfScopeLabel) continue;
    ++in_scope;
    correct += best_ranked[i] == expected[i];
  }
  report.has_threshold_cost = true;
  report.in_scope_accuracy_without_threshold =
      in_scope ? static_cast<double>(correct) / static_cast<double>(in_scope) : 0;
  return report;
}

}  // namespace

EvaluationReport Evaluate(const IntentClassifier& model,
                          const std::vector<TrainingExample>& examples) {
  std::vector<std::string> expected, predicted, best_ranked;
  std::vector<double> latencies_us;
  expected.reserve(examples.size());
  predicted.reserve(examples.size());
  best_ranked.reserve(examples.size());
  latencies_us.reserve(examples.size());
  PredictAll(model, examples, expected, predicted, best_ranked, latencies_us);
  return ScoreWithThresholdCost(expected, predicted, best_ranked, std::move(latencies_us));
}

std::vector<int> AssignFolds(const std::vector<TrainingExample>& data, int folds, uint64_t seed) {
  ValidateFolds(data.size(), folds);
  // Grouped by intent in sorted order, each group in data order, so the
  // result depends only on the data and the seed.
  std::map<std::string, std::vector<size_t>> by_intent;
  for (size_t i = 0; i < data.size(); ++i) by_intent[data[i].intent].push_back(i);

  std::mt19937_64 rng(seed);
  std::vector<int> fold_of(data.size(), 0);
  // Continuing the round-robin across intents (instead of restarting at fold
  // 0) keeps fold sizes within one of each other even when many intents have
  // fewer examples than folds.
  size_t next = 0;
  for (auto& [intent, indices] : by_intent) {
    for (size_t i = indices.size(); i > 1; --i) {  // Fisher-Yates
      std::swap(indices[i - 1], indices[Below(rng, i)]);
    }
    for (size_t i : indices) {
      fold_of[i] = static_cast<int>(next % static_cast<size_t>(folds));
      ++next;
    }
  }
  return fold_of;
}

EvaluationReport CrossValidate(const std::vector<TrainingExample>& data, int folds, uint64_t seed,
                               const ModelTrainer& train) {
  const std::vector<int> fold_of = AssignFolds(data, folds, seed);
  std::vector<std::string> expected, predicted, best_ranked;
  std::vector<double> latencies_us;
  expected.reserve(data.size());
  predicted.reserve(data.size());
  best_ranked.reserve(data.size());
  latencies_us.reserve(data.size());
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<TrainingExample> train_set, test_set;
    for (size_t i = 0; i < data.size(); ++i) {
      (fold_of[i] == fold ? test_set : train_set).push_back(data[i]);
    }
    std::unique_ptr<IntentClassifier> model = train(train_set);
    if (!model) {
      throw Error("cross-validation: the trainer returned no model for fold " +
                  std::to_string(fold + 1) + " of " + std::to_string(folds));
    }
    PredictAll(*model, test_set, expected, predicted, best_ranked, latencies_us);
  }
  // Scoring the pooled predictions once is the same as summing the folds'
  // confusion matrices and recomputing every metric from the sum.
  return ScoreWithThresholdCost(expected, predicted, best_ranked, std::move(latencies_us));
}

}  // namespace chatbot::nlu
