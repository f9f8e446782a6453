// The dual coordinate-descent solver for L2-regularised, squared-hinge-loss
// linear SVMs (Hsieh et al., ICML 2008): the algorithm of LIBLINEAR's
// L2R_L2LOSS_SVC_DUAL, with its shrinking heuristic and stopping rule,
// re-implemented here for two reasons:
//   - determinism: LIBLINEAR draws its permutations from the process-global
//     rand(), so one-vs-rest problems trained on several threads give results
//     that depend on scheduling; this solver takes a seed per problem;
//   - speed: training time is the time spent streaming the training rows
//     through the cache. This solver solves the one-vs-rest problems of a
//     block of up to kSolverBlock intents in the same passes over the rows,
//     each row's features loaded once for all of them, with their weights
//     interleaved so that one cache line holds a feature's weight for every
//     intent of the block.
// LIBLINEAR itself stays available (svm.solver = "liblinear") and a test
// checks that both solvers agree.
#ifndef CHATBOT_NLU_DUAL_CD_SOLVER_H_
#define CHATBOT_NLU_DUAL_CD_SOLVER_H_

#include <cstdint>
#include <vector>

#include "nlu/tfidf_vectorizer.h"

namespace chatbot::nlu {

// Training rows in a compact, contiguous form shared by all the problems.
struct SparseRows {
  std::vector<SparseFeature> entries;  // all rows back to back
  std::vector<size_t> starts;          // row i is [starts[i], starts[i + 1])
  std::vector<float> squared_norms;    // ||x_i||^2 including the bias feature
  size_t num_features = 0;             // excluding the bias feature

  size_t rows() const { return starts.empty() ? 0 : starts.size() - 1; }
};

SparseRows MakeSparseRows(const std::vector<std::vector<SparseFeature>>& rows, size_t num_features);

struct DualCdOptions {
  double c = 1.0;
  double epsilon = 0.1;
  int max_iterations = 1000;
  uint64_t seed = 1;
};

// Intents solved together; 16 floats fill one 64-byte cache line.
inline constexpr int kSolverBlock = 16;

struct OneVsRestSolution {
  // weights[b] for intent first_class + b: num_features values, then the bias.
  std::vector<std::vector<double>> weights;
  int iterations = 0;  // passes over the rows
};

// Solves "intent k against the rest" for k in [first_class, first_class +
// count), count in 1..kSolverBlock; labels[i] is the intent of row i.
OneVsRestSolution SolveOneVsRestBlock(const SparseRows& rows, const std::vector<int>& labels,
                                      int first_class, int count, const DualCdOptions& options);

struct BinarySvmSolution {
  std::vector<double> weights;  // num_features, then the bias weight
  int iterations = 0;
};

// One binary problem: positive[i] says whether row i is in the positive class.
BinarySvmSolution SolveBinarySvm(const SparseRows& rows, const std::vector<bool>& positive,
                                 const DualCdOptions& options);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_DUAL_CD_SOLVER_H_
