#include "bert/training_kernels.h"

#include <dnnl.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "bert/bert_kernels.h"
#include "common/error.h"

namespace chatbot::bert::training {
namespace {

// murmur3's 32-bit finaliser: a bijection with good avalanche, and 32-bit
// multiplies only, so the dropout loop vectorises (AVX2 has no 64-bit
// multiply).
inline uint32_t Mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

}  // namespace

void Dropout(float* x, int64_t n, uint64_t seed, int64_t base, float p) {
  if (p <= 0.0f) return;
  if (p >= 1.0f) {
    std::fill_n(x, n, 0.0f);
    return;
  }
  const uint32_t threshold = static_cast<uint32_t>(std::min(4294967295.0, p * 4294967296.0));
  const float scale = 1.0f / (1.0f - p);
  const uint32_t lo = static_cast<uint32_t>(seed);
  const uint32_t hi = static_cast<uint32_t>(seed >> 32);
  const uint32_t start = static_cast<uint32_t>(base);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = Mix32(Mix32((start + static_cast<uint32_t>(i)) ^ lo) + hi);
    x[i] *= u < threshold ? 0.0f : scale;
  }
}

void Gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const dnnl_status_t s = dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success) {
    throw ModelError("BERT training: oneDNN sgemm failed (status " + std::to_string(s) + ")");
  }
}

void Linear(const float* x, int64_t rows, int64_t in, const float* w, const float* b, int64_t out,
            float* y) {
  Gemm('N', 'T', rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  ForRows(rows, out, [&](int64_t r0, int64_t r1) {
    AddBias(y + r0 * out, b, static_cast<int>(r1 - r0), static_cast<int>(out));
  });
}

void LinearBackward(const float* dy, const float* x, int64_t rows, int64_t in, const float* w,
                    int64_t out, float* dw, float* db, float* dx, bool accumulate) {
  Gemm('T', 'N', out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in);
  for (int64_t r = 0; r < rows; ++r) {
    const float* d = dy + r * out;
    for (int64_t j = 0; j < out; ++j) db[j] += d[j];
  }
  if (dx != nullptr) {
    Gemm('N', 'N', rows, in, out, 1.0f, dy, out, w, in, accumulate ? 1.0f : 0.0f, dx, in);
  }
}

void LayerNormBackward(const float* dy, const float* z, const float* mean, const float* rstd,
                       const float* gamma, int64_t rows, int64_t n, float* dz, float* dgamma,
                       float* dbeta) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* d = dy + r * n;
    const float* zr = z + r * n;
    const float m = mean[r];
    const float s = rstd[r];
    for (int64_t i = 0; i < n; ++i) {
      dgamma[i] += d[i] * (zr[i] - m) * s;
      dbeta[i] += d[i];
    }
  }
  const float inv_n = 1.0f / static_cast<float>(n);
  ForRows(rows, n * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* d = dy + r * n;
      const float* zr = z + r * n;
      float* out = dz + r * n;
      const float m = mean[r];
      const float s = rstd[r];
      float sum_g = 0.0f;
      float sum_gx = 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        const float g = d[i] * gamma[i];
        sum_g += g;
        sum_gx += g * (zr[i] - m) * s;
      }
      const float mean_g = sum_g * inv_n;
      const float mean_gx = sum_gx * inv_n;
      for (int64_t i = 0; i < n; ++i) {
        const float xhat = (zr[i] - m) * s;
        out[i] = s * (d[i] * gamma[i] - mean_g - xhat * mean_gx);
      }
    }
  });
}

void GeluBackward(const float* f, int64_t n, float* d) {
  constexpr int64_t kBlock = 256;
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  ForRows(blocks, kBlock * 8, [&](int64_t b0, int64_t b1) {
    float a[kBlock];
    float e[kBlock];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t start = b * kBlock;
      const int64_t len = std::min(kBlock, n - start);
      const float* fb = f + start;
      for (int64_t i = 0; i < len; ++i) a[i] = fb[i] * kInvSqrt2;
      for (int64_t i = 0; i < len; ++i) e[i] = -0.5f * fb[i] * fb[i];
      Erf(a, len, a);
      Exp(e, len, e);
      float* db = d + start;
      for (int64_t i = 0; i < len; ++i) {
        db[i] *= 0.5f * (1.0f + a[i]) + fb[i] * kInvSqrt2Pi * e[i];
      }
    }
  });
}

}  // namespace chatbot::bert::training
