#include "bert/adamw.h"

#include <omp.h>

#include <cmath>
#include <string>

#include "bert/parallel_slices.h"
#include "common/error.h"

namespace chatbot::bert {

AdamW::AdamW(const BertParameters& params, const AdamWOptions& options) : options_(options) {
  if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1) ||
      !(options.eps > 0) || !(options.weight_decay >= 0)) {
    throw ConfigError("AdamW: need 0 <= beta1, beta2 < 1, eps > 0 and weight_decay >= 0");
  }
  const auto& ts = params.tensors();
  m_.resize(ts.size());
  v_.resize(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    m_[i].assign(ts[i].values.size(), 0.0f);
    v_[i].assign(ts[i].values.size(), 0.0f);
  }
}

void AdamW::Step(BertParameters* params, const Gradients& grads, float lr) {
  auto& ts = params->mutable_tensors();
  if (ts.size() != m_.size() || grads.size() != m_.size()) {
    throw ModelError("AdamW: the parameters do not match the optimiser state");
  }
  ++step_;
  // Bias corrections in double, as PyTorch computes them in Python.
  const double bc1 =
      1.0 - std::pow(static_cast<double>(options_.beta1), static_cast<double>(step_));
  const double bc2 =
      1.0 - std::pow(static_cast<double>(options_.beta2), static_cast<double>(step_));
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  const float b1 = options_.beta1;
  const float b2 = options_.beta2;
  const float one_minus_b1 = 1.0f - b1;
  const float one_minus_b2 = 1.0f - b2;
  const float eps = options_.eps;
  int64_t total = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (grads[i].size() != ts[i].values.size()) {
      throw ModelError("AdamW: gradient of '" + ts[i].name + "' has the wrong size");
    }
    total += static_cast<int64_t>(ts[i].values.size());
  }
  // The threads take the same share of every tensor, with one join per step
  // (parallel_slices.h).
  const int threads = total >= 65536 && !omp_in_parallel() ? omp_get_max_threads() : 1;
  // Scalars captured by value: through references the compiler would have to
  // reload them after every store and could not vectorise the loop.
  const float decay_rate = lr * options_.weight_decay;
  RunSlices(threads, [&ts, &grads, this, threads, decay_rate, step_size, inv_bc2_sqrt, b2,
                      one_minus_b1, one_minus_b2, eps](int t) {
    for (size_t i = 0; i < ts.size(); ++i) {
      float* p = ts[i].values.data();
      const float* g = grads[i].data();
      float* m = m_[i].data();
      float* v = v_[i].data();
      const int64_t n = static_cast<int64_t>(ts[i].values.size());
      const int64_t begin = n * t / threads;
      const int64_t end = n * (t + 1) / threads;
      const float decay = ts[i].weight_decay ? 1.0f - decay_rate : 1.0f;
      for (int64_t k = begin; k < end; ++k) {
        const float gk = g[k];
        const float mk = m[k] + one_minus_b1 * (gk - m[k]);
        const float vk = v[k] * b2 + one_minus_b2 * gk * gk;
        m[k] = mk;
        v[k] = vk;
        const float denom = std::sqrt(vk) * inv_bc2_sqrt + eps;
        p[k] = p[k] * decay - step_size * mk / denom;
      }
    }
  });
}

LinearSchedule::LinearSchedule(int64_t warmup_steps, int64_t total_steps)
    : warmup_(warmup_steps), total_(total_steps) {
  if (total_steps < 1 || warmup_steps < 0 || warmup_steps > total_steps) {
    throw ConfigError("learning-rate schedule: need 0 <= warmup steps (" +
                      std::to_string(warmup_steps) + ") <= total steps (" +
                      std::to_string(total_steps) + ") and total steps >= 1");
  }
}

float LinearSchedule::Factor(int64_t step) const {
  if (step < warmup_) {
    return static_cast<float>(static_cast<double>(step) / static_cast<double>(warmup_));
  }
  const double rest = static_cast<double>(total_ - step) /
                      static_cast<double>(total_ - warmup_ > 0 ? total_ - warmup_ : 1);
  return static_cast<float>(rest > 0 ? rest : 0.0);
}

float ClipGradNorm(Gradients* grads, float max_norm) {
  const double norm = std::sqrt(grads->SquaredNorm());
  if (max_norm > 0) {
    const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
    if (coef < 1.0) grads->Scale(static_cast<float>(coef));
  }
  return static_cast<float>(norm);
}

}  // namespace chatbot::bert
