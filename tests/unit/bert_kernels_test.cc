#include "bert/bert_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace chatbot::bert {
namespace {

std::vector<float> Range(float from, float to, int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = from + (to - from) * static_cast<float>(i) / (n - 1);
  return x;
}

TEST(BertKernelsTest, ErfAndGeluMatchLibm) {
  const std::vector<float> x = Range(-12.0f, 12.0f, 200001);
  std::vector<float> y(x.size());
  Erf(x.data(), static_cast<int64_t>(x.size()), y.data());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::fabs(y[i] - std::erf(double{x[i]})));
  EXPECT_LT(worst, 3e-7);

  GeluErf(x.data(), static_cast<int64_t>(x.size()), y.data());
  worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double g = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    worst = std::max(worst, std::fabs(y[i] - g) / std::max(1.0, std::fabs(g)));
  }
  EXPECT_LT(worst, 5e-7);
  // In place, odd length (vector remainder).
  std::vector<float> z = {-1.5f, 0.0f, 0.3f, 2.0f, 7.0f};
  GeluErf(z.data(), 5, z.data());
  EXPECT_NEAR(z[0], -0.1002108f, 1e-6f);
  EXPECT_EQ(z[1], 0.0f);
  EXPECT_NEAR(z[3], 1.954500f, 1e-6f);
  EXPECT_NEAR(z[4], 7.0f, 1e-6f);
}

TEST(BertKernelsTest, ExpAndTanhMatchLibm) {
  const std::vector<float> x = Range(-87.0f, 87.0f, 100001);
  std::vector<float> y(x.size());
  Exp(x.data(), static_cast<int64_t>(x.size()), y.data());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::exp(double{x[i]});
    worst = std::max(worst, std::fabs(y[i] - e) / e);
  }
  EXPECT_LT(worst, 3e-7);
  const float under[3] = {-100.0f, -std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::infinity()};
  float out[3];
  Exp(under, 3, out);
  for (float v : out) EXPECT_EQ(v, 0.0f);

  const std::vector<float> t = Range(-20.0f, 20.0f, 100001);
  Tanh(t.data(), static_cast<int64_t>(t.size()), y.data());
  worst = 0.0;
  for (size_t i = 0; i < t.size(); ++i)
    worst = std::max(worst, std::fabs(y[i] - std::tanh(double{t[i]})));
  EXPECT_LT(worst, 2e-7);
  const float tiny = 1e-20f;
  float tiny_out;
  Tanh(&tiny, 1, &tiny_out);
  EXPECT_EQ(tiny_out, tiny);
}

TEST(BertKernelsTest, LayerNormMatchesDoublePrecision) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(3.0f, 2.0f);
  const int rows = 5;
  const int n = 77;  // not a multiple of the vector width
  std::vector<float> x(rows * n), gamma(n), beta(n), y(rows * n), mean(rows), rstd(rows);
  for (float& v : x) v = normal(rng);
  for (int i = 0; i < n; ++i) {
    gamma[i] = 1.0f + 0.01f * i;
    beta[i] = -0.5f + 0.02f * i;
  }
  LayerNorm(x.data(), gamma.data(), beta.data(), rows, n, 1e-12f, y.data(), mean.data(),
            rstd.data());
  for (int r = 0; r < rows; ++r) {
    double m = 0.0, v = 0.0;
    for (int i = 0; i < n; ++i) m += x[r * n + i];
    m /= n;
    for (int i = 0; i < n; ++i) v += (x[r * n + i] - m) * (x[r * n + i] - m);
    v /= n;
    const double s = 1.0 / std::sqrt(v + 1e-12);
    EXPECT_NEAR(mean[r], m, 1e-5);
    EXPECT_NEAR(rstd[r], s, 1e-5 * s);
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(y[r * n + i], (x[r * n + i] - m) * s * gamma[i] + beta[i], 2e-5);
    }
  }
  // In place, null statistics.
  LayerNorm(x.data(), gamma.data(), beta.data(), rows, n, 1e-12f, x.data(), nullptr, nullptr);
  for (int i = 0; i < rows * n; ++i) EXPECT_EQ(x[i], y[i]);
}

TEST(BertKernelsTest, SoftmaxIsStableAndHonoursMasks) {
  std::vector<float> x = {1000.0f,
                          1001.0f,
                          999.0f,  // large: needs the max
                          0.5f,
                          -std::numeric_limits<float>::max(),
                          0.5f,  // masked middle
                          -std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};  // all masked
  SoftmaxRows(x.data(), 3, 3);
  const double e0 = std::exp(-1.0), e2 = std::exp(-2.0);
  EXPECT_NEAR(x[0], e0 / (1 + e0 + e2), 1e-6);
  EXPECT_NEAR(x[1], 1 / (1 + e0 + e2), 1e-6);
  EXPECT_NEAR(x[2], e2 / (1 + e0 + e2), 1e-6);
  EXPECT_FLOAT_EQ(x[3], 0.5f);
  EXPECT_EQ(x[4], 0.0f);
  EXPECT_FLOAT_EQ(x[5], 0.5f);
  for (int i = 6; i < 9; ++i) EXPECT_FLOAT_EQ(x[i], 1.0f / 3.0f);

  std::vector<float> wide = Range(-3.0f, 5.0f, 37);
  SoftmaxRows(wide.data(), 1, 37);
  double sum = 0.0;
  for (float v : wide) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_LT(wide[0], wide[36]);
}

TEST(BertKernelsTest, AddBiasAddsPerColumn) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const float bias[3] = {10, 20, 30};
  AddBias(x.data(), bias, 2, 3);
  EXPECT_EQ(x, (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

}  // namespace
}  // namespace chatbot::bert
