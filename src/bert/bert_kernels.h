// Elementwise and row-wise kernels of the BERT encoder, shared by the forward
// pass (inference) and the backward pass (training).
//
// Plain C++ written so that GCC vectorises it at -O3 -march=x86-64-v3 without
// -ffast-math: reductions use a fixed set of partial sums (so results do not
// depend on the machine's vector width or on threading), and exp/erf are
// polynomial approximations accurate to a few float ulps (absolute error
// below 3e-7 for erf, relative error below 2e-7 for exp) instead of libm calls
// that the compiler cannot vectorise. All functions allow y == x (in place).
#ifndef CHATBOT_BERT_BERT_KERNELS_H_
#define CHATBOT_BERT_BERT_KERNELS_H_

#include <cstdint>

namespace chatbot::bert {

// y[r] = (x[r] - mean) * rstd * gamma + beta for each of `rows` rows of `n`
// floats, with the biased variance and rstd = 1 / sqrt(var + eps), as
// torch.nn.LayerNorm. mean_out/rstd_out (nullable) receive one value per row,
// for the backward pass.
void LayerNorm(const float* x, const float* gamma, const float* beta, int rows, int n, float eps,
               float* y, float* mean_out, float* rstd_out);

// y = 0.5 * x * (1 + erf(x / sqrt(2))): the exact GELU of BERT ("gelu").
void GeluErf(const float* x, int64_t n, float* y);

// y = erf(x) (for the GELU derivative).
void Erf(const float* x, int64_t n, float* y);

// y = exp(x); 0 below -87.3 (where float underflows), clamped at 88.
void Exp(const float* x, int64_t n, float* y);

// x[r] += bias for each of `rows` rows of `n` floats.
void AddBias(float* x, const float* bias, int rows, int n);

// Softmax of each of `rows` rows of `n` floats, in place, subtracting the
// row maximum first. Entries of -inf or below -1e30 (an additive mask) get
// probability 0; a row of only masked entries becomes uniform, as PyTorch
// gives for a row of equal finite scores.
void SoftmaxRows(float* x, int rows, int n);

// y = tanh(x).
void Tanh(const float* x, int64_t n, float* y);

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_KERNELS_H_
