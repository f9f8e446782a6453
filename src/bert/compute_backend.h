// The dense linear algebra the BERT encoder runs on, behind an interface so
// that another implementation (a GPU, another BLAS) can be added without
// touching the encoder.
//
// Almost all of a BERT forward pass is its linear layers (y = x W^T + b with
// fixed W), so a backend's main job is PrepareLinear: it takes a layer's
// weights once, in PyTorch's [out, in] layout, converts and re-lays them out
// for its kernels (oneDNN's blocked formats, bf16), and returns a LinearLayer
// that later multiplies any number of rows. The activation or residual that
// follows a layer is fused into it (Epilogue), which saves a pass over the
// output. Gemm is the general product, for the backward pass of training.
//
// All pointers are host memory: the encoder keeps activations on the host and
// runs attention, LayerNorm and the embeddings itself (bert_kernels.h). A GPU
// backend would move that boundary; the interface says nothing about where
// the work is done, only what is computed.
//
// Threads: a ComputeBackend and its LinearLayers are immutable after
// preparation, and every method may be called from several threads at once.
// The CPU backend uses oneDNN, which runs each product on the OpenMP threads
// of the calling thread: a caller on its own std::thread sets how many with
// omp_set_num_threads() on that thread (OMP_NUM_THREADS sets the default).
#ifndef CHATBOT_BERT_COMPUTE_BACKEND_H_
#define CHATBOT_BERT_COMPUTE_BACKEND_H_

#include <memory>
#include <string>
#include <string_view>

namespace chatbot::bert {

// The arithmetic of the linear layers. kF32 gives the reference results;
// kBF16 rounds weights and inputs to bfloat16 (8 significant bits) and
// accumulates in float32: about twice as fast where the CPU has AVX512-BF16,
// at the cost of about 1e-2 relative error in the outputs.
enum class Precision { kF32, kBF16 };

std::string_view PrecisionName(Precision precision);
// "f32"/"fp32"/"float32" or "bf16"/"bfloat16"; throws ConfigError otherwise.
Precision ParsePrecision(std::string_view name);

// As ParsePrecision, and "auto": bf16 where `supports_bf16` (the CPU has
// bf16 arithmetic, AVX512-BF16 or AMX), f32 elsewhere. Measured on the
// intent models, bf16 answers as f32 does (CLINC150 accuracy within 0.05
// points) at up to twice the speed; CPU inference runtimes default to it
// where the hardware has it for the same reason.
Precision ResolvePrecision(std::string_view name, bool supports_bf16);

// What follows the product, applied to each output element.
enum class Epilogue {
  kNone,        // y = x W^T + b
  kGelu,        // y = gelu_erf(x W^T + b)
  kAccumulate,  // y = y + x W^T + b: a residual connection kept in y
};

class LinearLayer {
 public:
  virtual ~LinearLayer() = default;

  int in_features() const { return in_; }
  int out_features() const { return out_; }

  // y[rows, out] from x[rows, in], both row-major and contiguous; rows >= 0.
  // y must not overlap x.
  virtual void Forward(const float* x, int rows, float* y) const = 0;

 protected:
  LinearLayer(int out, int in) : out_(out), in_(in) {}

 private:
  int out_;
  int in_;
};

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;

  // "cpu-onednn" etc., for logs.
  virtual std::string name() const = 0;
  virtual bool Supports(Precision precision) const = 0;

  // weight: [out, in] row-major (torch.nn.Linear); bias: [out] or null.
  // Copies what it needs. Throws ModelError on non-positive sizes, ConfigError
  // when the precision is not supported here.
  virtual std::unique_ptr<LinearLayer> PrepareLinear(const float* weight, const float* bias,
                                                     int out, int in, Precision precision,
                                                     Epilogue epilogue) const = 0;

  // Row-major C[m, n] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T as
  // cblas_sgemm with CblasRowMajor: A is [m, k] (or [k, m] when trans_a),
  // B is [k, n] (or [n, k] when trans_b), with leading dimensions lda, ldb,
  // ldc. float32 throughout.
  virtual void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, const float* b, int ldb, float beta, float* c, int ldc) const = 0;
};

// The backend used when none is chosen: the CPU (cpu_backend.h), shared.
std::shared_ptr<const ComputeBackend> DefaultComputeBackend();

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_COMPUTE_BACKEND_H_
