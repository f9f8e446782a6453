#include "bert/bert_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace chatbot::bert {
namespace {

// Partial sums of a reduction: 16 lanes, two AVX2 registers or one AVX-512
// register; a fixed count keeps the summation order independent of the
// target.
constexpr int kLanes = 16;

inline float Sum(const float* x, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] += x[i + k];
  }
  float s = 0.0f;
  for (; i < n; ++i) s += x[i];
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

inline float SumSquaredDeviation(const float* x, int n, float mean) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float d = x[i + k] - mean;
      acc[k] += d * d;
    }
  }
  float s = 0.0f;
  for (; i < n; ++i) {
    const float d = x[i] - mean;
    s += d * d;
  }
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

inline float Max(const float* x, int n) {
  constexpr float kLowest = -std::numeric_limits<float>::infinity();
  float acc[kLanes];
  for (int k = 0; k < kLanes; ++k) acc[k] = kLowest;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
  }
  float m = kLowest;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int k = 0; k < kLanes; ++k) m = acc[k] > m ? acc[k] : m;
  return m;
}

// Branch-free select: GCC does not if-convert a choice between two computed
// floats when one of them may trap (-ftrapping-math, the default), so the
// loops calling these functions would not be vectorised with `c ? a : b`.
inline float Select(bool c, float a, float b) {
  const int32_t m = -static_cast<int32_t>(c);
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & m) | (std::bit_cast<int32_t>(b) & ~m));
}

// exp(x): x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts so n ln2 is
// exact), e^r by its Taylor polynomial to degree 7 (truncation error below
// 5e-9 relative), times 2^n built in the exponent bits (0 on underflow).
inline float ExpScalar(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // 12 significant bits: n * kLn2Hi is exact
  constexpr float kLn2Lo = 1.42860682030941723e-06f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const bool underflow = x < -87.3f;
  x = Select(underflow, -87.3f, x);
  x = Select(x > 88.0f, 88.0f, x);
  const float n = (x * kLog2e + kRound) - kRound;
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  bits = underflow ? 0 : bits;
  return p * std::bit_cast<float>(bits);
}

// erf(x). For |x| < 1, the Maclaurin series 2/sqrt(pi) sum (-1)^k x^(2k+1) /
// (k! (2k+1)) to k = 11 (truncation below 1e-9); above, Abramowitz & Stegun
// 7.1.26, erf(x) = 1 - t (a1 + t (a2 + ...)) e^(-x^2), t = 1 / (1 + p x),
// absolute error below 1.5e-7.
inline float ErfScalar(float x) {
  const float ax = std::fabs(x);
  // Series in z = x^2, coefficients c_k = 2/sqrt(pi) (-1)^k / (k! (2k+1)).
  const float z = ax * ax;
  float s = -1.2290555301717926e-09f;   // k = 11
  s = s * z + 1.4807192815879218e-08f;  // k = 10
  s = s * z - 1.6365844691234924e-07f;  // k = 9
  s = s * z + 1.6462114365889246e-06f;  // k = 8
  s = s * z - 1.4925650358406250e-05f;  // k = 7
  s = s * z + 1.2055332981789664e-04f;  // k = 6
  s = s * z - 8.5483270234508520e-04f;  // k = 5
  s = s * z + 5.2239776254421880e-03f;  // k = 4
  s = s * z - 2.6866170645131252e-02f;  // k = 3
  s = s * z + 1.1283791670955126e-01f;  // k = 2
  s = s * z - 3.7612638903183754e-01f;  // k = 1
  s = s * z + 1.1283791670955126e+00f;  // k = 0
  const float small = ax * s;

  constexpr float kP = 0.3275911f;
  const float t = 1.0f / (1.0f + kP * ax);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  const float large = 1.0f - q * t * ExpScalar(-z);

  return std::copysign(Select(ax < 1.0f, small, large), x);
}

inline float TanhScalar(float x) {
  const float ax = std::fabs(x);
  // |x| < 0.3: Maclaurin series to x^11 (truncation below 1e-9).
  const float z = ax * ax;
  float s = -1382.0f / 155925.0f;
  s = s * z + 62.0f / 2835.0f;
  s = s * z - 17.0f / 315.0f;
  s = s * z + 2.0f / 15.0f;
  s = s * z - 1.0f / 3.0f;
  s = s * z + 1.0f;
  const float small = ax * s;
  // Otherwise (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 0.55].
  const float e = ExpScalar(-2.0f * ax);
  const float large = (1.0f - e) / (1.0f + e);
  return std::copysign(Select(ax < 0.3f, small, large), x);
}

}  // namespace

void LayerNorm(const float* x, const float* gamma, const float* beta, int rows, int n, float eps,
               float* y, float* mean_out, float* rstd_out) {
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * n;
    float* yr = y + static_cast<int64_t>(r) * n;
    const float mean = Sum(xr, n) * inv_n;
    const float var = SumSquaredDeviation(xr, n, mean) * inv_n;
    const float rstd = 1.0f / std::sqrt(var + eps);
    for (int i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * rstd * gamma[i] + beta[i];
    if (mean_out != nullptr) mean_out[r] = mean;
    if (rstd_out != nullptr) rstd_out[r] = rstd;
  }
}

void GeluErf(const float* x, int64_t n, float* y) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + ErfScalar(v * kInvSqrt2));
  }
}

void Erf(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = ErfScalar(x[i]);
}

void Exp(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = ExpScalar(x[i]);
}

void AddBias(float* x, const float* bias, int rows, int n) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<int64_t>(r) * n;
    for (int i = 0; i < n; ++i) xr[i] += bias[i];
  }
}

void SoftmaxRows(float* x, int rows, int n) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<int64_t>(r) * n;
    float m = Max(xr, n);
    if (m == -std::numeric_limits<float>::infinity()) {
      for (int i = 0; i < n; ++i) xr[i] = 1.0f / static_cast<float>(n);
      continue;
    }
    for (int i = 0; i < n; ++i) xr[i] = ExpScalar(xr[i] - m);
    const float inv = 1.0f / Sum(xr, n);
    for (int i = 0; i < n; ++i) xr[i] *= inv;
  }
}

void Tanh(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = TanhScalar(x[i]);
}

}  // namespace chatbot::bert
