// The numeric steps of BERT training (bert_training_model.h) that are not
// inference's (bert_kernels.h): dropout regenerated from a seed, matrix
// products through oneDNN, and the backward passes of the dense layer,
// LayerNorm and GELU. Every reduction runs in a fixed order, so results
// depend on the inputs and the number of threads only.
#ifndef CHATBOT_BERT_TRAINING_KERNELS_H_
#define CHATBOT_BERT_TRAINING_KERNELS_H_

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/hash.h"

namespace chatbot::bert::training {

// Dropout sites: one seed per place dropout is applied, so masks differ
// between sites and layers but the backward pass can regenerate each one.
enum Site : uint64_t {
  kSiteEmbeddings = 1,
  kSitePooled = 2,
  kSiteLayerBase = 16,  // + 4 * layer + {0: probabilities, 1: attention output, 2: FFN output}
};

inline uint64_t SiteSeed(uint64_t step_seed, uint64_t site) {
  return Mix64(step_seed ^ Mix64(site * kGoldenGamma));
}

// Inverted dropout of x[0..n), whose first element is element `base` of the
// site: element i is zeroed when the hash of (seed, base + i) falls below
// p * 2^32 and scaled by 1 / (1 - p) otherwise. Applying it again with the
// same arguments to a gradient is the backward pass.
void Dropout(float* x, int64_t n, uint64_t seed, int64_t base, float p);

// Runs fn(begin, end) over [0, rows) in contiguous chunks, one per OpenMP
// thread when the work is large enough to pay for a parallel region. Rows
// are independent, so the result does not depend on the split.
template <typename F>
void ForRows(int64_t rows, int64_t work_per_row, F fn) {
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (rows * work_per_row < 16384) threads = 1;
  if (threads > rows) threads = static_cast<int>(rows);
  if (threads <= 1) {
    fn(int64_t{0}, rows);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int c = 0; c < threads; ++c) {
    fn(rows * c / threads, rows * (c + 1) / threads);
  }
}

// Row-major C = alpha op(A) op(B) + beta C (oneDNN).
void Gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// y[rows, out] = x[rows, in] W^T + b, W [out, in].
void Linear(const float* x, int64_t rows, int64_t in, const float* w, const float* b, int64_t out,
            float* y);

// Gradients of y = x W^T + b given dy: dW += dy^T x, db += column sums of
// dy, and (when dx is not null) dx = dy W, or dx += dy W with accumulate.
void LinearBackward(const float* dy, const float* x, int64_t rows, int64_t in, const float* w,
                    int64_t out, float* dw, float* db, float* dx, bool accumulate);

// LayerNorm y = (z - mean) * rstd * gamma + beta, backward: dz from dy, and
// dgamma += sum dy * xhat, dbeta += sum dy (rows in order).
void LayerNormBackward(const float* dy, const float* z, const float* mean, const float* rstd,
                       const float* gamma, int64_t rows, int64_t n, float* dz, float* dgamma,
                       float* dbeta);

// d *= GELU'(f) = Phi(f) + f * phi(f), in blocks so erf/exp vectorise.
void GeluBackward(const float* f, int64_t n, float* d);

inline void Resize(std::vector<float>* v, int64_t n) {
  v->resize(static_cast<size_t>(n));
}

}  // namespace chatbot::bert::training

#endif  // CHATBOT_BERT_TRAINING_KERNELS_H_
