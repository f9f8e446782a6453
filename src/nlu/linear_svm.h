// A multi-class linear SVM: one-vs-rest binary SVMs (L2-regularised,
// squared hinge loss, solved in the dual by coordinate descent, as
// scikit-learn's LinearSVC does through LIBLINEAR), trained in parallel.
//
// The weights are kept feature-major ([feature][class], float32): a sparse
// input touches one contiguous row per active feature, so scoring all classes
// is a handful of vectorised multiply-adds per feature.
#ifndef CHATBOT_NLU_LINEAR_SVM_H_
#define CHATBOT_NLU_LINEAR_SVM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/binary_io.h"
#include "nlu/tfidf_vectorizer.h"

namespace chatbot::nlu {

enum class SvmSolver {
  kNative,     // dual_cd_solver.h: deterministic, the default
  kLiblinear,  // LIBLINEAR's L2R_L2LOSS_SVC_DUAL, the reference
};

struct LinearSvmOptions {
  double c = 1.0;        // inverse regularisation strength
  double epsilon = 0.1;  // stopping tolerance of the dual solver (LIBLINEAR's default)
  int threads = 0;       // 0: one per core
  uint64_t seed = 42;    // the native solver's permutations
  SvmSolver solver = SvmSolver::kNative;
  // Called as classes finish (one by one with LIBLINEAR, a block at a time
  // with the native solver), from the training threads with a lock held, so
  // it need not be thread-safe: (classes done, classes).
  std::function<void(int, int)> on_class_trained;
};

class LinearSvm {
 public:
  LinearSvm() = default;

  // rows[i] has label labels[i] in [0, num_classes). Throws Error on
  // inconsistent input (every class needs at least one example).
  static LinearSvm Train(const std::vector<std::vector<SparseFeature>>& rows,
                         const std::vector<int>& labels, int num_classes, size_t num_features,
                         const LinearSvmOptions& options);

  // Writes num_classes() decision values to `scores`. Thread-safe.
  void DecisionValues(const std::vector<SparseFeature>& x, float* scores) const;

  int num_classes() const { return num_classes_; }
  size_t num_features() const { return num_features_; }

  void Serialize(BinaryWriter* out) const;
  static LinearSvm Deserialize(BinaryReader* in);

 private:
  static LinearSvm TrainNative(const std::vector<std::vector<SparseFeature>>& rows,
                               const std::vector<int>& labels, int num_classes, size_t num_features,
                               const LinearSvmOptions& options);

  int num_classes_ = 0;
  size_t num_features_ = 0;
  std::vector<float> weights_;  // num_features_ x num_classes_
  std::vector<float> bias_;     // num_classes_
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_LINEAR_SVM_H_
