#include "nlu/dual_cd_solver.h"

#include <cmath>
#include <limits>
#include <random>
#include <utility>

namespace chatbot::nlu {

SparseRows MakeSparseRows(const std::vector<std::vector<SparseFeature>>& rows,
                          size_t num_features) {
  SparseRows out;
  out.num_features = num_features;
  size_t total = 0;
  for (const auto& row : rows) total += row.size();
  out.entries.reserve(total);
  out.starts.reserve(rows.size() + 1);
  out.squared_norms.reserve(rows.size());
  for (const auto& row : rows) {
    out.starts.push_back(out.entries.size());
    double norm = 1.0;  // the bias feature, always 1
    for (const SparseFeature& f : row) {
      out.entries.push_back(f);
      norm += static_cast<double>(f.value) * f.value;
    }
    out.squared_norms.push_back(static_cast<float>(norm));
  }
  out.starts.push_back(out.entries.size());
  return out;
}

BinarySvmSolution SolveBinarySvm(const SparseRows& rows, const std::vector<bool>& positive,
                                 const DualCdOptions& options) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  const size_t l = rows.rows();
  const size_t bias = rows.num_features;
  // Squared hinge loss: the dual has no upper bound and a diagonal term.
  const double diagonal = 0.5 / options.c;

  BinarySvmSolution solution;
  std::vector<double>& w = solution.weights;
  w.assign(rows.num_features + 1, 0.0);
  std::vector<double> alpha(l, 0.0);
  std::vector<uint32_t> index(l);
  for (size_t i = 0; i < l; ++i) index[i] = static_cast<uint32_t>(i);

  std::mt19937_64 random(options.seed);
  size_t active = l;
  // With no upper bound on alpha only the lower side shrinks, so only the
  // previous pass's maximum projected gradient is needed.
  double projected_max_old = kInfinity;
  int iteration = 0;
  while (iteration < options.max_iterations) {
    double projected_max = -kInfinity;
    double projected_min = kInfinity;
    // Fisher-Yates over the active set, with our own draw so the order is the
    // same on every standard library.
    for (size_t s = 0; s + 1 < active; ++s) {
      const size_t j = s + random() % (active - s);
      std::swap(index[s], index[j]);
    }
    for (size_t s = 0; s < active; ++s) {
      const uint32_t i = index[s];
      const double y = positive[i] ? 1.0 : -1.0;
      const SparseFeature* begin = rows.entries.data() + rows.starts[i];
      const SparseFeature* end = rows.entries.data() + rows.starts[i + 1];
      double dot = w[bias];
      for (const SparseFeature* f = begin; f != end; ++f) dot += w[f->index] * f->value;
      const double gradient = y * dot - 1.0 + diagonal * alpha[i];

      double projected = 0;
      if (alpha[i] == 0) {
        if (gradient > projected_max_old) {
          // Shrink: this example is far from the margin and likely stays at
          // zero; revisit it only in the final full pass.
          --active;
          std::swap(index[s], index[active]);
          --s;
          continue;
        }
        if (gradient < 0) projected = gradient;
      } else {
        projected = gradient;
      }
      projected_max = std::max(projected_max, projected);
      projected_min = std::min(projected_min, projected);

      if (std::fabs(projected) > 1.0e-12) {
        const double old_alpha = alpha[i];
        const double q = rows.squared_norms[i] + diagonal;
        alpha[i] = std::max(alpha[i] - gradient / q, 0.0);
        const double step = (alpha[i] - old_alpha) * y;
        for (const SparseFeature* f = begin; f != end; ++f) w[f->index] += step * f->value;
        w[bias] += step;
      }
    }
    ++iteration;
    if (projected_max - projected_min <= options.epsilon) {
      if (active == l) break;
      // Converged on the shrunk set: check once more on every example.
      active = l;
      projected_max_old = kInfinity;
      continue;
    }
    projected_max_old = projected_max <= 0 ? kInfinity : projected_max;
  }
  solution.iterations = iteration;
  return solution;
}

}  // namespace chatbot::nlu
