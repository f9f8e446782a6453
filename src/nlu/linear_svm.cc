#include "nlu/linear_svm.h"

#include <linear.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "common/cpu_count.h"
#include "common/error.h"
#include "common/hash.h"
#include "nlu/dual_cd_solver.h"

namespace chatbot::nlu {
namespace {

void SilenceLiblinear() {
  // LIBLINEAR prints solver progress to stdout by default; our progress
  // reporting is our own and stdout carries command output.
  static std::once_flag once;
  std::call_once(once, [] { set_print_string_function([](const char*) {}); });
}

int ThreadCount(int requested, int tasks) {
  int threads = requested > 0 ? requested : UsableCores();
  return std::clamp(threads, 1, std::max(1, tasks));
}

// Runs task(t) for every t in [0, tasks) on the configured threads, stopping
// at the first exception, which is rethrown. Each task returns how many of
// the `num_classes` classes it trained, for progress reports.
template <typename Task>
void ForEachTask(int tasks, int num_classes, const LinearSvmOptions& options, const Task& task) {
  std::atomic<int> next_task{0};
  int done = 0;
  std::exception_ptr failure;
  std::mutex mutex;
  auto worker = [&] {
    for (int t = next_task++; t < tasks; t = next_task++) {
      try {
        const int trained = task(t);
        std::lock_guard lock(mutex);
        done += trained;
        if (options.on_class_trained) options.on_class_trained(done, num_classes);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        next_task = tasks;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < ThreadCount(options.threads, tasks); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

LinearSvm LinearSvm::TrainNative(const std::vector<std::vector<SparseFeature>>& rows,
                                 const std::vector<int>& labels, int num_classes,
                                 size_t num_features, const LinearSvmOptions& options) {
  const SparseRows compact = MakeSparseRows(rows, num_features);
  LinearSvm svm;
  svm.num_classes_ = num_classes;
  svm.num_features_ = num_features;
  svm.weights_.assign(num_features * num_classes, 0.0f);
  svm.bias_.assign(num_classes, 0.0f);
  const int blocks = (num_classes + kSolverBlock - 1) / kSolverBlock;
  ForEachTask(blocks, num_classes, options, [&](int block) {
    const int first = block * kSolverBlock;
    const int count = std::min(kSolverBlock, num_classes - first);
    DualCdOptions solver;
    solver.c = options.c;
    solver.epsilon = options.epsilon;
    // One seed per block: the result does not depend on which thread ran it.
    solver.seed = options.seed * kGoldenGamma + static_cast<uint64_t>(block);
    const OneVsRestSolution solution = SolveOneVsRestBlock(compact, labels, first, count, solver);
    for (int b = 0; b < count; ++b) {
      const int k = first + b;
      for (size_t f = 0; f < num_features; ++f) {
        svm.weights_[f * num_classes + k] = static_cast<float>(solution.weights[b][f]);
      }
      svm.bias_[k] = static_cast<float>(solution.weights[b][num_features]);
    }
    return count;
  });
  return svm;
}

LinearSvm LinearSvm::Train(const std::vector<std::vector<SparseFeature>>& rows,
                           const std::vector<int>& labels, int num_classes, size_t num_features,
                           const LinearSvmOptions& options) {
  if (rows.size() != labels.size()) throw Error("SVM training: rows and labels differ in number");
  if (num_classes < 2) throw Error("SVM training needs at least two intents");
  if (!(options.c > 0)) throw Error("SVM training: C must be positive");
  SilenceLiblinear();

  std::vector<int> class_sizes(num_classes, 0);
  for (int label : labels) {
    if (label < 0 || label >= num_classes) throw Error("SVM training: label out of range");
    ++class_sizes[label];
  }
  for (int k = 0; k < num_classes; ++k) {
    if (class_sizes[k] == 0)
      throw Error("SVM training: class " + std::to_string(k) + " has no examples");
  }
  if (options.solver == SvmSolver::kNative)
    return TrainNative(rows, labels, num_classes, num_features, options);

  // LIBLINEAR's input: 1-based feature indices, a bias feature appended to
  // every row, each row terminated by index -1. Shared read-only by all the
  // one-vs-rest problems.
  const int bias_index = static_cast<int>(num_features) + 1;
  size_t nodes = 0;
  for (const auto& row : rows) nodes += row.size() + 2;
  std::vector<feature_node> storage;
  storage.reserve(nodes);
  std::vector<feature_node*> x(rows.size());
  std::vector<size_t> starts(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    starts[i] = storage.size();
    for (const SparseFeature& f : rows[i]) {
      storage.push_back({static_cast<int>(f.index) + 1, static_cast<double>(f.value)});
    }
    storage.push_back({bias_index, 1.0});
    storage.push_back({-1, 0.0});
  }
  for (size_t i = 0; i < rows.size(); ++i) x[i] = storage.data() + starts[i];

  LinearSvm svm;
  svm.num_classes_ = num_classes;
  svm.num_features_ = num_features;
  svm.weights_.assign(num_features * num_classes, 0.0f);
  svm.bias_.assign(num_classes, 0.0f);

  ForEachTask(num_classes, num_classes, options, [&](int k) {
    // +1 first so that LIBLINEAR's first label (whose weights it returns
    // for a two-class problem) is "this class".
    std::vector<double> y(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) y[i] = labels[i] == k ? 1.0 : -1.0;
    problem prob{};
    prob.l = static_cast<int>(rows.size());
    prob.n = bias_index;
    prob.y = y.data();
    prob.x = x.data();
    prob.bias = 1.0;
    parameter param{};
    param.solver_type = L2R_L2LOSS_SVC_DUAL;
    param.eps = options.epsilon;
    param.C = options.c;
    if (const char* error = check_parameter(&prob, &param)) {
      throw Error(std::string("LIBLINEAR refused the parameters: ") + error);
    }
    model* trained = train(&prob, &param);
    const double sign = trained->label[0] == 1 ? 1.0 : -1.0;
    for (size_t f = 0; f < num_features; ++f) {
      svm.weights_[f * num_classes + k] = static_cast<float>(sign * trained->w[f]);
    }
    svm.bias_[k] = static_cast<float>(sign * trained->w[num_features]);
    free_and_destroy_model(&trained);
    return 1;
  });
  return svm;
}

void LinearSvm::DecisionValues(const std::vector<SparseFeature>& x, float* scores) const {
  const int classes = num_classes_;
  std::copy(bias_.begin(), bias_.end(), scores);
  for (const SparseFeature& feature : x) {
    const float* row = weights_.data() + static_cast<size_t>(feature.index) * classes;
    const float value = feature.value;
    for (int k = 0; k < classes; ++k) scores[k] += value * row[k];
  }
}

void LinearSvm::Serialize(BinaryWriter* out) const {
  out->Put<int32_t>(num_classes_);
  out->Put<uint64_t>(num_features_);
  out->PutArray(bias_);
  out->PutArray(weights_);
}

LinearSvm LinearSvm::Deserialize(BinaryReader* in) {
  LinearSvm svm;
  svm.num_classes_ = in->Get<int32_t>("class count");
  svm.num_features_ = in->Get<uint64_t>("feature count");
  if (svm.num_classes_ < 2 || svm.num_classes_ > 100000) in->Fail("class count", "out of range");
  if (svm.num_features_ > (1ULL << 26)) in->Fail("feature count", "out of range");
  svm.bias_ = in->GetArray<float>("biases", 100000);
  svm.weights_ = in->GetArray<float>("weights", 1ULL << 32);
  if (svm.bias_.size() != static_cast<size_t>(svm.num_classes_) ||
      svm.weights_.size() != svm.num_features_ * svm.num_classes_) {
    in->Fail("weights", "sizes disagree with the class and feature counts");
  }
  return svm;
}

}  // namespace chatbot::nlu
