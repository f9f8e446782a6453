// The CPU ComputeBackend, over oneDNN matmul primitives.
//
// PrepareLinear reorders a layer's weights once into the blocked layout
// oneDNN's kernel wants (and to bf16 for Precision::kBF16), fusing the bias
// and the epilogue (GELU, residual sum) into the primitive.
//
// Primitives are made for a fixed row count (brgemm kernels), created on first
// use (about 0.1-0.3 ms each) and shared by all layers of the same shape.
// Inputs of more than kMaxRows rows run as slices of kMaxRows, which bounds
// the kernels to kMaxRows per shape. Measured on a Zen 4 core with MiniLM-L6
// (6 layers, K = 384/1536, N = 384..1536), one thread:
//   - one primitive with a run-time row count (DNNL_RUNTIME_DIM_VAL, oneDNN's
//     gemm:jit) is as fast on one layer's weights, but 20-25% slower on a real
//     6-layer model at 16 rows (weights streamed from memory: 42 MB in f32),
//     and 1.3-1.9x slower in bf16;
//   - slices of 64, 128 or 512 rows take the same time per row (within 3%).
//
// Every execution passes its own memory objects and a per-thread scratchpad
// (scratchpad_mode::user) and stream, so primitives are shared by all threads.
#ifndef CHATBOT_BERT_CPU_BACKEND_H_
#define CHATBOT_BERT_CPU_BACKEND_H_

#include <memory>
#include <string>

#include "bert/compute_backend.h"

namespace chatbot::bert {

class CpuBackend : public ComputeBackend {
 public:
  CpuBackend();
  ~CpuBackend() override;

  std::string name() const override { return "cpu-onednn"; }
  // kBF16 needs AVX-512 (native with AVX512-BF16, emulated without).
  bool Supports(Precision precision) const override;

  std::unique_ptr<LinearLayer> PrepareLinear(const float* weight, const float* bias, int out,
                                             int in, Precision precision,
                                             Epilogue epilogue) const override;

  void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc) const override;

  // Rows per matmul call: larger inputs run in slices, so at most this many
  // kernels exist per layer shape (about 66 KB each).
  static constexpr int kMaxRows = 64;

  struct PrimitiveCache;  // shared with the LinearLayers, which may outlive the backend

 private:
  struct GemmCache;
  std::shared_ptr<PrimitiveCache> primitives_;
  std::unique_ptr<GemmCache> gemm_cache_;
  bool bf16_supported_ = false;
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_CPU_BACKEND_H_
