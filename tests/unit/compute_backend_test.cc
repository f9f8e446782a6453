#include "bert/compute_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "bert/cpu_backend.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// y = x W^T + b in double precision.
std::vector<double> Reference(const std::vector<float>& x, const std::vector<float>& w,
                              const std::vector<float>& b, int rows, int out, int in) {
  std::vector<double> y(static_cast<size_t>(rows) * out);
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out; ++o) {
      double s = b[o];
      for (int i = 0; i < in; ++i) s += double{x[r * in + i]} * w[o * in + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

TEST(ComputeBackendTest, LinearLayerEpiloguesInF32) {
  const auto backend = DefaultComputeBackend();
  const int out = 37, in = 53;
  const std::vector<float> w = Random(out * in, 1), b = Random(out, 2);
  const auto plain =
      backend->PrepareLinear(w.data(), b.data(), out, in, Precision::kF32, Epilogue::kNone);
  const auto gelu =
      backend->PrepareLinear(w.data(), b.data(), out, in, Precision::kF32, Epilogue::kGelu);
  const auto accumulate =
      backend->PrepareLinear(w.data(), b.data(), out, in, Precision::kF32, Epilogue::kAccumulate);
  EXPECT_EQ(plain->out_features(), out);
  EXPECT_EQ(plain->in_features(), in);
  for (int rows : {1, 7, 64, 3}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const std::vector<float> x = Random(static_cast<size_t>(rows) * in, 10 + rows);
    const std::vector<double> ref = Reference(x, w, b, rows, out, in);
    std::vector<float> y(ref.size()), g(ref.size()), acc(ref.size(), 2.0f);
    plain->Forward(x.data(), rows, y.data());
    gelu->Forward(x.data(), rows, g.data());
    accumulate->Forward(x.data(), rows, acc.data());
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_NEAR(y[i], ref[i], 1e-5);
      EXPECT_NEAR(g[i], 0.5 * ref[i] * (1 + std::erf(ref[i] / std::sqrt(2.0))), 1e-5);
      EXPECT_NEAR(acc[i], 2.0 + ref[i], 1e-5);
    }
  }
  // No bias.
  const auto unbiased =
      backend->PrepareLinear(w.data(), nullptr, out, in, Precision::kF32, Epilogue::kNone);
  const std::vector<float> x = Random(in, 99);
  std::vector<float> y(out);
  unbiased->Forward(x.data(), 1, y.data());
  const std::vector<double> ref = Reference(x, w, std::vector<float>(out, 0.0f), 1, out, in);
  for (int i = 0; i < out; ++i) EXPECT_NEAR(y[i], ref[i], 1e-5);
}

TEST(ComputeBackendTest, LinearLayerInBf16) {
  const auto backend = DefaultComputeBackend();
  const int out = 48, in = 64, rows = 5;
  const std::vector<float> w = Random(out * in, 3), b = Random(out, 4);
  if (!backend->Supports(Precision::kBF16)) {
    // Without bf16 in the CPU, asking for it is refused with a clear message.
    EXPECT_THROW(
        backend->PrepareLinear(w.data(), b.data(), out, in, Precision::kBF16, Epilogue::kNone),
        ConfigError);
    return;
  }
  const std::vector<float> x = Random(rows * in, 5);
  const auto layer =
      backend->PrepareLinear(w.data(), b.data(), out, in, Precision::kBF16, Epilogue::kNone);
  std::vector<float> y(rows * out);
  layer->Forward(x.data(), rows, y.data());
  const std::vector<double> ref = Reference(x, w, b, rows, out, in);
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(y[i] - ref[i]));
  EXPECT_LT(worst, 0.1);   // 64 products of bf16-rounded values of magnitude <= 1
  EXPECT_GT(worst, 1e-6);  // and it was rounded
}

TEST(ComputeBackendTest, GemmMatchesReferenceForEveryTransposition) {
  const auto backend = DefaultComputeBackend();
  const int m = 9, n = 13, k = 21;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string("trans_a ") + (ta ? "1" : "0") + " trans_b " + (tb ? "1" : "0"));
      const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
      const std::vector<float> a = Random(static_cast<size_t>(ta ? k : m) * lda, 6);
      const std::vector<float> b = Random(static_cast<size_t>(tb ? n : k) * ldb, 7);
      std::vector<float> c = Random(static_cast<size_t>(m) * ldc, 8);
      const std::vector<float> c0 = c;
      backend->Gemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c.data(), ldc);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
          double s = 0.0;
          for (int p = 0; p < k; ++p) {
            const double av = ta ? a[p * lda + i] : a[i * lda + p];
            const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
            s += av * bv;
          }
          EXPECT_NEAR(c[i * ldc + j], 0.5 * s + 2.0 * c0[i * ldc + j], 1e-5);
        }
        for (int j = n; j < ldc; ++j) EXPECT_EQ(c[i * ldc + j], c0[i * ldc + j]);  // padding kept
      }
    }
  }
  // beta = 0 ignores whatever C held, NaN included.
  std::vector<float> a = Random(4, 1), b = Random(4, 2), c(4, std::nanf(""));
  backend->Gemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  for (float v : c) EXPECT_TRUE(std::isfinite(v));
}

TEST(ComputeBackendTest, PrecisionNamesAndErrors) {
  EXPECT_EQ(ParsePrecision("bf16"), Precision::kBF16);
  EXPECT_EQ(ParsePrecision("fp32"), Precision::kF32);
  EXPECT_EQ(PrecisionName(Precision::kBF16), "bf16");
  EXPECT_THROW(ParsePrecision("int8"), ConfigError);
  const float w = 1.0f;
  EXPECT_THROW(
      DefaultComputeBackend()->PrepareLinear(&w, nullptr, 0, 1, Precision::kF32, Epilogue::kNone),
      ModelError);
}

TEST(ComputeBackendTest, AutoPrecisionIsBf16OnlyWhereSupported) {
  EXPECT_EQ(ResolvePrecision("auto", true), Precision::kBF16);
  EXPECT_EQ(ResolvePrecision("auto", false), Precision::kF32);
  // A named precision is what it names, supported or not (PrepareLinear
  // refuses an unsupported one with a message).
  EXPECT_EQ(ResolvePrecision("f32", true), Precision::kF32);
  EXPECT_EQ(ResolvePrecision("bf16", false), Precision::kBF16);
  EXPECT_THROW(ResolvePrecision("fast", true), ConfigError);
  // What the settings' default gives on this machine's backend.
  const auto backend = DefaultComputeBackend();
  EXPECT_TRUE(backend->Supports(ResolvePrecision("auto", backend->Supports(Precision::kBF16))));
}

}  // namespace
}  // namespace chatbot::bert
