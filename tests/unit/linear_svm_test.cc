#include "nlu/linear_svm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/binary_io.h"
#include "common/error.h"
#include "nlu/dual_cd_solver.h"
#include "nlu/text_normalizer.h"
#include "nlu/tfidf_vectorizer.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::Pair;

using Rows = std::vector<std::vector<SparseFeature>>;

struct Problem {
  Rows rows;
  std::vector<int> labels;
  int classes = 0;
  size_t features = 0;
};

// K classes, each with three prototype features, plus six noise features
// shared by all classes; row i has label i % K, so the first row is of class
// 0 and, for the other classes, negative (LIBLINEAR's label order differs).
Problem Separable(int classes = 4, int rows_per_class = 10) {
  Problem p;
  p.classes = classes;
  const int noise = 6;
  p.features = static_cast<size_t>(3 * classes + noise);
  std::mt19937_64 random(7);
  std::uniform_real_distribution<float> strong(0.5f, 1.0f), weak(0.1f, 0.3f);
  for (int i = 0; i < classes * rows_per_class; ++i) {
    const int k = i % classes;
    std::map<uint32_t, float> row;
    // Two of the class's three prototype features.
    const int skip = static_cast<int>(random() % 3);
    for (int j = 0; j < 3; ++j) {
      if (j != skip) row[static_cast<uint32_t>(3 * k + j)] = strong(random);
    }
    for (int j = 0; j < 2; ++j) {
      row[static_cast<uint32_t>(3 * classes + random() % noise)] = weak(random);
    }
    std::vector<SparseFeature> sparse;
    for (const auto& [index, value] : row) sparse.push_back({index, value});
    p.rows.push_back(std::move(sparse));
    p.labels.push_back(k);
  }
  return p;
}

std::vector<float> Scores(const LinearSvm& svm, const std::vector<SparseFeature>& x) {
  std::vector<float> scores(svm.num_classes());
  svm.DecisionValues(x, scores.data());
  return scores;
}

int Argmax(const LinearSvm& svm, const std::vector<SparseFeature>& x) {
  const std::vector<float> scores = Scores(svm, x);
  return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

double Agreement(const LinearSvm& a, const LinearSvm& b, const Rows& rows) {
  size_t same = 0;
  for (const auto& row : rows) same += Argmax(a, row) == Argmax(b, row);
  return static_cast<double>(same) / static_cast<double>(rows.size());
}

std::string Bytes(const LinearSvm& svm) {
  BinaryWriter writer;
  svm.Serialize(&writer);
  return writer.Take();
}

LinearSvmOptions Options(SvmSolver solver, int threads = 2, uint64_t seed = 42) {
  LinearSvmOptions options;
  options.solver = solver;
  options.threads = threads;
  options.seed = seed;
  return options;
}

class LinearSvmSyntheticTest : public testing::TestWithParam<SvmSolver> {};

TEST_P(LinearSvmSyntheticTest, ClassifiesEverySeparableTrainingRow) {
  const Problem p = Separable();
  const LinearSvm svm =
      LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(GetParam()));
  EXPECT_EQ(svm.num_classes(), p.classes);
  EXPECT_EQ(svm.num_features(), p.features);
  for (size_t i = 0; i < p.rows.size(); ++i) {
    EXPECT_EQ(Argmax(svm, p.rows[i]), p.labels[i]) << "row " << i;
    // One-vs-rest: the row's own class scores positive.
    EXPECT_GT(Scores(svm, p.rows[i])[p.labels[i]], 0.0f) << "row " << i;
  }
  // A prototype feature alone points at its class.
  for (int k = 0; k < p.classes; ++k) {
    EXPECT_EQ(Argmax(svm, {{static_cast<uint32_t>(3 * k), 1.0f}}), k);
  }
}

TEST_P(LinearSvmSyntheticTest, ScoresAreLinearInTheInput) {
  const Problem p = Separable();
  const LinearSvm svm =
      LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(GetParam()));
  const std::vector<float> bias = Scores(svm, {});
  std::vector<SparseFeature> doubled = p.rows[5];
  for (SparseFeature& f : doubled) f.value *= 2;
  const std::vector<float> once = Scores(svm, p.rows[5]);
  const std::vector<float> twice = Scores(svm, doubled);
  for (int k = 0; k < p.classes; ++k) {
    EXPECT_NEAR(twice[k] - bias[k], 2 * (once[k] - bias[k]), 1e-5) << k;
  }
}

TEST_P(LinearSvmSyntheticTest, ReportsEachTrainedClass) {
  const Problem p = Separable();
  LinearSvmOptions options = Options(GetParam(), 3);
  std::vector<std::pair<int, int>> calls;
  options.on_class_trained = [&](int done, int total) { calls.emplace_back(done, total); };
  LinearSvm::Train(p.rows, p.labels, p.classes, p.features, options);
  // One call per solved task (a class for LIBLINEAR, a block of classes for
  // the native solver): totals fixed, progress strictly rising to (4, 4).
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), std::make_pair(4, 4));
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, 4);
    if (i > 0) {
      EXPECT_GT(calls[i].first, calls[i - 1].first);
    }
  }
  if (GetParam() == SvmSolver::kLiblinear) {
    EXPECT_EQ(calls.size(), 4u);
  }
}

TEST_P(LinearSvmSyntheticTest, RefusesInconsistentInput) {
  const Problem p = Separable();
  const LinearSvmOptions options = Options(GetParam());
  auto expect_error = [&](const Rows& rows, const std::vector<int>& labels, int classes,
                          const LinearSvmOptions& o, const std::string& message) {
    try {
      LinearSvm::Train(rows, labels, classes, p.features, o);
      ADD_FAILURE() << "accepted; expected: " << message;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  };
  std::vector<int> labels = p.labels;
  labels[3] = p.classes;
  expect_error(p.rows, labels, p.classes, options, "label out of range");
  labels[3] = -1;
  expect_error(p.rows, labels, p.classes, options, "label out of range");
  // Class 4 of 5 has no examples.
  expect_error(p.rows, p.labels, p.classes + 1, options, "class 4 has no examples");
  expect_error(p.rows, std::vector<int>(p.labels.begin(), p.labels.end() - 1), p.classes, options,
               "differ in number");
  expect_error(p.rows, std::vector<int>(p.labels.size(), 0), 1, options, "at least two");
  for (double c : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    LinearSvmOptions bad = options;
    bad.c = c;
    expect_error(p.rows, p.labels, p.classes, bad, "C must be positive");
  }
}

INSTANTIATE_TEST_SUITE_P(Solvers, LinearSvmSyntheticTest,
                         testing::Values(SvmSolver::kNative, SvmSolver::kLiblinear),
                         [](const testing::TestParamInfo<SvmSolver>& info) {
                           return info.param == SvmSolver::kNative ? "Native" : "Liblinear";
                         });

TEST(LinearSvmTest, SerializeRoundTrip) {
  const Problem p = Separable();
  const LinearSvm svm =
      LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kNative));
  const std::string bytes = Bytes(svm);
  BinaryReader reader(bytes, "svm.bin");
  const LinearSvm copy = LinearSvm::Deserialize(&reader);
  EXPECT_TRUE(reader.AtEnd());
  EXPECT_EQ(copy.num_classes(), svm.num_classes());
  EXPECT_EQ(copy.num_features(), svm.num_features());
  for (const auto& row : p.rows) EXPECT_EQ(Scores(copy, row), Scores(svm, row));
  EXPECT_EQ(Scores(copy, {}), Scores(svm, {}));
  EXPECT_EQ(Bytes(copy), bytes);
}

TEST(LinearSvmTest, DeserializeRefusesTruncatedAndInconsistentFiles) {
  const Problem p = Separable();
  const std::string bytes =
      Bytes(LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kNative)));
  for (size_t length = 0; length < bytes.size(); ++length) {
    BinaryReader reader(std::string_view(bytes).substr(0, length), "cut.bin");
    EXPECT_THROW(LinearSvm::Deserialize(&reader), ModelError) << "cut at " << length;
  }
  auto refused = [](const std::string& data, const std::string& message) {
    BinaryReader reader(data, "bad.bin");
    try {
      LinearSvm::Deserialize(&reader);
      ADD_FAILURE() << "accepted; expected: " << message;
    } catch (const ModelError& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  };
  auto file = [](int32_t classes, uint64_t features, size_t biases, size_t weights) {
    BinaryWriter w;
    w.Put<int32_t>(classes);
    w.Put<uint64_t>(features);
    w.PutArray(std::vector<float>(biases, 0.5f));
    w.PutArray(std::vector<float>(weights, 0.25f));
    return w.Take();
  };
  {
    const std::string good = file(3, 4, 3, 12);  // the reader keeps a view of it
    BinaryReader reader(good, "good.bin");
    EXPECT_EQ(LinearSvm::Deserialize(&reader).num_classes(), 3);
  }
  refused(file(1, 4, 1, 4), "class count");
  refused(file(-3, 4, 3, 12), "class count");
  refused(file(3, 1ULL << 40, 3, 12), "feature count");
  refused(file(3, 4, 2, 12), "sizes disagree");
  refused(file(3, 4, 3, 11), "sizes disagree");
}

// The default domain, vectorised once, shared by the tests below.
struct DomainProblem {
  Problem problem;
  std::unique_ptr<LinearSvm> native;     // seed 42, 2 threads
  std::unique_ptr<LinearSvm> liblinear;  // 2 threads
};

const DomainProblem& Domain() {
  static const DomainProblem* domain = [] {
    auto* d = new DomainProblem;
    const TrainingData data =
        LoadTrainingData({std::filesystem::path(CHATBOT_SOURCE_DIR) / "data/domain"});
    const std::vector<std::string> labels = data.Labels();
    std::map<std::string, int> label_index;
    for (size_t k = 0; k < labels.size(); ++k) label_index[labels[k]] = static_cast<int>(k);
    const TextNormalizer normalizer;
    std::vector<std::string> texts;
    for (const TrainingExample& e : data.examples) {
      texts.push_back(normalizer.Normalize(e.text));
      d->problem.labels.push_back(label_index.at(e.intent));
    }
    const TfidfVectorizer vectorizer = TfidfVectorizer::Fit(texts, TfidfOptions{});
    d->problem.rows.resize(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) vectorizer.Transform(texts[i], &d->problem.rows[i]);
    d->problem.classes = static_cast<int>(labels.size());
    d->problem.features = vectorizer.num_features();
    const Problem& p = d->problem;
    d->native = std::make_unique<LinearSvm>(
        LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kNative)));
    d->liblinear = std::make_unique<LinearSvm>(
        LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kLiblinear)));
    return d;
  }();
  return *domain;
}

TEST(LinearSvmDomainTest, NativeAndLiblinearAgree) {
  const DomainProblem& d = Domain();
  ASSERT_GT(d.problem.classes, 20);
  ASSERT_GT(d.problem.rows.size(), 1000u);
  const double agreement = Agreement(*d.native, *d.liblinear, d.problem.rows);
  EXPECT_GE(agreement, 0.97);
  RecordProperty("agreement", std::to_string(agreement));

  // Both fit the training data well (LinearSVC reaches ~99% on its own data).
  for (const LinearSvm* svm : {d.native.get(), d.liblinear.get()}) {
    size_t correct = 0;
    for (size_t i = 0; i < d.problem.rows.size(); ++i) {
      correct += Argmax(*svm, d.problem.rows[i]) == d.problem.labels[i];
    }
    EXPECT_GE(static_cast<double>(correct) / d.problem.rows.size(), 0.95);
  }
}

TEST(LinearSvmDomainTest, NativeSolverIsDeterministicAcrossThreadCounts) {
  const DomainProblem& d = Domain();
  const Problem& p = d.problem;
  const LinearSvm one_thread =
      LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kNative, 1));
  EXPECT_EQ(Bytes(one_thread), Bytes(*d.native)) << "weights differ between 1 and 2 threads";
  for (size_t i = 0; i < p.rows.size(); i += 97) {
    EXPECT_EQ(Scores(one_thread, p.rows[i]), Scores(*d.native, p.rows[i])) << "row " << i;
  }
}

TEST(LinearSvmDomainTest, DifferentSeedsStillAgree) {
  const DomainProblem& d = Domain();
  const Problem& p = d.problem;
  const LinearSvm other =
      LinearSvm::Train(p.rows, p.labels, p.classes, p.features, Options(SvmSolver::kNative, 2, 7));
  EXPECT_NE(Bytes(other), Bytes(*d.native)) << "the seed should change the visiting order";
  EXPECT_GE(Agreement(other, *d.native, p.rows), 0.97);
}

TEST(DualCdSolverTest, SparseRowsKeepRowsAndNorms) {
  const Rows rows = {{{0, 3.0f}, {2, 4.0f}}, {}, {{1, 1.0f}}};
  const SparseRows compact = MakeSparseRows(rows, 3);
  ASSERT_EQ(compact.rows(), 3u);
  EXPECT_EQ(compact.num_features, 3u);
  EXPECT_THAT(compact.starts, ElementsAre(0u, 2u, 2u, 3u));
  // ||x||^2 plus 1 for the bias feature.
  EXPECT_THAT(compact.squared_norms, ElementsAre(26.0f, 1.0f, 2.0f));
  EXPECT_EQ(compact.entries[2].index, 1u);
  EXPECT_EQ(MakeSparseRows({}, 5).rows(), 0u);
}

TEST(DualCdSolverTest, SolvesATinyProblemBySign) {
  // One feature: positive rows at +1, +2, negative rows at -1, -2.
  const SparseRows rows = MakeSparseRows({{{0, 1.0f}}, {{0, 2.0f}}, {{0, -1.0f}}, {{0, -2.0f}}}, 1);
  const BinarySvmSolution s = SolveBinarySvm(rows, {true, true, false, false}, DualCdOptions{});
  ASSERT_EQ(s.weights.size(), 2u);
  EXPECT_GT(s.weights[0], 0.0);
  EXPECT_NEAR(s.weights[1], 0.0, 0.2) << "symmetric data: a small bias";
  EXPECT_GE(s.iterations, 1);
  EXPECT_LE(s.iterations, DualCdOptions{}.max_iterations);
  // Flipped classes flip the weight.
  const BinarySvmSolution flipped =
      SolveBinarySvm(rows, {false, false, true, true}, DualCdOptions{});
  EXPECT_LT(flipped.weights[0], 0.0);
}

}  // namespace
}  // namespace chatbot::nlu
