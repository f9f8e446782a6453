#include "nlu/dual_cd_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

namespace chatbot::nlu {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// One feature's weights for the intents of a block, on one cache line.
// Single precision: twice the intents per line, and the block's weights
// (features x 64 bytes) stay within the last-level cache.
struct alignas(64) LaneWeights {
  float lane[kSolverBlock];
};
static_assert(sizeof(LaneWeights) == 64);

}  // namespace

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

OneVsRestSolution SolveOneVsRestBlock(const SparseRows& rows, const std::vector<int>& labels,
                                      int first_class, int count, const DualCdOptions& options) {
  if (count < 1 || count > kSolverBlock) throw std::invalid_argument("block size out of range");
  if (labels.size() != rows.rows()) throw std::invalid_argument("one label per row");
  const size_t l = rows.rows();
  const size_t bias = rows.num_features;
  // Squared hinge loss: the dual has no upper bound and a diagonal term.
  const double diagonal = 0.5 / options.c;
  const uint32_t all_lanes = (1u << count) - 1;

  std::vector<LaneWeights> w(rows.num_features + 1, LaneWeights{});
  std::vector<double> alpha(l * kSolverBlock, 0.0);
  // Bit b of active[i]: row i is still visited for lane b (not shrunk).
  std::vector<uint16_t> active(l, static_cast<uint16_t>(all_lanes));
  std::vector<size_t> shrunk(count, 0);
  std::vector<double> projected_max_old(count, kInfinity);
  uint32_t running = all_lanes;  // lanes not yet converged

  std::vector<uint32_t> order;
  auto rebuild_order = [&] {
    order.clear();
    for (size_t i = 0; i < l; ++i) {
      if (active[i] & running) order.push_back(static_cast<uint32_t>(i));
    }
  };
  rebuild_order();

  std::mt19937_64 random(options.seed);
  int iteration = 0;
  while (running != 0 && iteration < options.max_iterations) {
    double projected_max[kSolverBlock];
    double projected_min[kSolverBlock];
    std::fill_n(projected_max, kSolverBlock, -kInfinity);
    std::fill_n(projected_min, kSolverBlock, kInfinity);
    // Fisher-Yates with our own draw: the same order on every library.
    for (size_t s = 0; s + 1 < order.size(); ++s) {
      std::swap(order[s], order[s + random() % (order.size() - s)]);
    }
    size_t visible = order.size();
    for (size_t s = 0; s < visible;) {
      const uint32_t i = order[s];
      uint32_t mask = active[i] & running;
      if (mask == 0) {
        std::swap(order[s], order[--visible]);
        continue;
      }
      const SparseFeature* begin = rows.entries.data() + rows.starts[i];
      const SparseFeature* end = rows.entries.data() + rows.starts[i + 1];
      float dot[kSolverBlock];
      for (int b = 0; b < kSolverBlock; ++b) dot[b] = w[bias].lane[b];
      for (const SparseFeature* f = begin; f != end; ++f) {
        const float value = f->value;
        const float* lane = w[f->index].lane;
        for (int b = 0; b < kSolverBlock; ++b) dot[b] += lane[b] * value;
      }

      float step[kSolverBlock] = {};
      bool changed = false;
      double* alpha_i = alpha.data() + static_cast<size_t>(i) * kSolverBlock;
      for (int b = 0; b < count; ++b) {
        if (!(mask & (1u << b))) continue;
        const double y = labels[i] == first_class + b ? 1.0 : -1.0;
        const double gradient = y * dot[b] - 1.0 + diagonal * alpha_i[b];
        double projected = 0;
        if (alpha_i[b] == 0) {
          if (gradient > projected_max_old[b]) {
            // Shrink: far from the margin, likely to stay at zero; revisited
            // only in the lane's final full pass.
            active[i] &= static_cast<uint16_t>(~(1u << b));
            ++shrunk[b];
            continue;
          }
          if (gradient < 0) projected = gradient;
        } else {
          projected = gradient;
        }
        projected_max[b] = std::max(projected_max[b], projected);
        projected_min[b] = std::min(projected_min[b], projected);
        if (std::fabs(projected) > 1.0e-12) {
          const double old_alpha = alpha_i[b];
          alpha_i[b] = std::max(old_alpha - gradient / (rows.squared_norms[i] + diagonal), 0.0);
          step[b] = static_cast<float>((alpha_i[b] - old_alpha) * y);
          changed = true;
        }
      }
      if (changed) {
        for (const SparseFeature* f = begin; f != end; ++f) {
          const float value = f->value;
          float* lane = w[f->index].lane;
          for (int b = 0; b < kSolverBlock; ++b) lane[b] += step[b] * value;
        }
        for (int b = 0; b < kSolverBlock; ++b) w[bias].lane[b] += step[b];
      }
      ++s;
    }
    order.resize(visible);
    ++iteration;

    bool unshrink = false;
    for (int b = 0; b < count; ++b) {
      if (!(running & (1u << b))) continue;
      if (projected_max[b] - projected_min[b] <= options.epsilon) {
        if (shrunk[b] == 0) {
          running &= ~(1u << b);  // converged on every row
        } else {
          // Converged on the shrunk set: check once more on every row.
          for (size_t i = 0; i < l; ++i) active[i] |= static_cast<uint16_t>(1u << b);
          shrunk[b] = 0;
          projected_max_old[b] = kInfinity;
          unshrink = true;
        }
      } else {
        projected_max_old[b] = projected_max[b] <= 0 ? kInfinity : projected_max[b];
      }
    }
    if (unshrink) rebuild_order();
  }

  OneVsRestSolution solution;
  solution.iterations = iteration;
  solution.weights.assign(count, std::vector<double>(rows.num_features + 1));
  for (size_t f = 0; f <= rows.num_features; ++f) {
    for (int b = 0; b < count; ++b) solution.weights[b][f] = w[f].lane[b];
  }
  return solution;
}

BinarySvmSolution SolveBinarySvm(const SparseRows& rows, const std::vector<bool>& positive,
                                 const DualCdOptions& options) {
  std::vector<int> labels(positive.size());
  for (size_t i = 0; i < positive.size(); ++i) labels[i] = positive[i] ? 0 : 1;
  OneVsRestSolution block = SolveOneVsRestBlock(rows, labels, 0, 1, options);
  return {std::move(block.weights[0]), block.iterations};
}

}  // namespace chatbot::nlu
