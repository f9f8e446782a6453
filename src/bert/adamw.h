// The optimiser of BERT fine-tuning and pre-training: AdamW (Loshchilov &
// Hutter), with the learning-rate schedule and gradient clipping Hugging
// Face's Trainer uses by default.
//
// Semantics are PyTorch's torch.optim.AdamW, which the Trainer uses
// ("adamw_torch"): for each parameter p with gradient g at step t (1-based)
//   p <- p - lr * weight_decay * p            (decoupled; only where the
//                                               parameter's weight_decay flag is set)
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The update is dense: every element moves every step, also embedding rows
// the batch did not use (their moments keep decaying and weight decay still
// applies), exactly as PyTorch does. A lazy/sparse variant would be faster on
// huge vocabularies but changes the result; with the vocabularies trained
// here (~8k x 256) the dense update costs a few per cent of a step.
#ifndef CHATBOT_BERT_ADAMW_H_
#define CHATBOT_BERT_ADAMW_H_

#include <cstdint>
#include <vector>

#include "bert/bert_parameters.h"

namespace chatbot::bert {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;  // PyTorch's default
};

class AdamW {
 public:
  // Allocates the two moment buffers (zero) for every parameter of `params`.
  AdamW(const BertParameters& params, const AdamWOptions& options);

  // One update of every parameter with learning rate `lr`. `params` and
  // `grads` must have the layout the optimiser was created for. Elementwise
  // and split between threads (parallel_slices.h): the result does not depend on the
  // number of threads.
  void Step(BertParameters* params, const Gradients& grads, float lr);

  int64_t step_count() const { return step_; }
  const AdamWOptions& options() const { return options_; }
  // The moments of parameter i (for tests and checkpoints).
  const std::vector<float>& first_moment(size_t i) const { return m_[i]; }
  const std::vector<float>& second_moment(size_t i) const { return v_[i]; }

 private:
  AdamWOptions options_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> m_;
  std::vector<std::vector<float>> v_;
};

// Hugging Face's get_linear_schedule_with_warmup as a multiplier of the peak
// learning rate: Factor(s) = s / warmup for s < warmup, then
// max(0, (total - s) / (total - warmup)). `s` is the number of optimiser steps
// already taken, so the first update uses Factor(0) (0 with a warm-up), as
// with the Trainer.
class LinearSchedule {
 public:
  // Throws ConfigError when total_steps < 1 or warmup_steps is outside
  // [0, total_steps].
  LinearSchedule(int64_t warmup_steps, int64_t total_steps);

  float Factor(int64_t step) const;

  int64_t warmup_steps() const { return warmup_; }
  int64_t total_steps() const { return total_; }

 private:
  int64_t warmup_;
  int64_t total_;
};

// torch.nn.utils.clip_grad_norm_: computes the global L2 norm of every
// gradient and, when it exceeds max_norm, scales all of them by
// max_norm / (norm + 1e-6). Returns the norm before clipping. max_norm <= 0
// only measures.
float ClipGradNorm(Gradients* grads, float max_norm);

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_ADAMW_H_
