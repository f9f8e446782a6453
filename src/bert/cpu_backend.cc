#include "bert/cpu_backend.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace chatbot::bert {
namespace {

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Growable 64-byte-aligned buffer; keeps its capacity.
class AlignedBuffer {
 public:
  void* Get(size_t bytes) {
    if (bytes > capacity_) {
      storage_.reset(new std::byte[bytes + 64]);
      capacity_ = bytes;
    }
    const auto address = reinterpret_cast<uintptr_t>(storage_.get());
    return storage_.get() + ((64 - address % 64) % 64);
  }

 private:
  std::unique_ptr<std::byte[]> storage_;
  size_t capacity_ = 0;
};

// What one thread needs to run primitives: a stream (streams are not
// thread-safe), the scratchpad, and the bf16 copy of a layer's input.
struct ThreadState {
  dnnl::stream stream{CpuEngine()};
  AlignedBuffer scratchpad;
  AlignedBuffer bf16_input;
};

ThreadState& LocalState() {
  thread_local ThreadState state;
  return state;
}

// float32 -> bfloat16, rounding to nearest even (inputs are finite).
void ToBf16(const float* x, int64_t n, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(x[i]);
    y[i] = static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
  }
}

dnnl::primitive_attr MakeAttr(Epilogue epilogue) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  switch (epilogue) {
    case Epilogue::kNone:
      break;
    case Epilogue::kGelu:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      break;
    case Epilogue::kAccumulate:
      ops.append_sum(1.0f);
      break;
  }
  attr.set_post_ops(ops);
  return attr;
}

}  // namespace

// Matmul primitives by shape, shared by every layer of every model on the
// backend: a primitive does not hold the weights (they are an argument), so
// the 6 layers of an encoder share one primitive per product and row count.
// Entries are never erased; there are at most kMaxRows per shape.
struct CpuBackend::PrimitiveCache {
  struct Entry {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
  };
  using Key = std::array<int, 5>;  // rows, in, out, precision, epilogue

  const Entry& Get(int rows, int in, int out, Precision precision, Epilogue epilogue) {
    const Key key = {rows, in, out, static_cast<int>(precision), static_cast<int>(epilogue)};
    {
      std::shared_lock lock(mutex);
      auto it = entries.find(key);
      if (it != entries.end()) return it->second;
    }
    // Made outside the lock: creation compiles a kernel (about 0.1 ms).
    const Dt type = precision == Precision::kBF16 ? Dt::bf16 : Dt::f32;
    const memory::desc src({rows, in}, type, Tag::ab);
    const memory::desc weights({in, out}, type, Tag::any);
    const memory::desc bias({1, out}, Dt::f32, Tag::ab);
    const memory::desc dst({rows, out}, Dt::f32, Tag::ab);
    Entry entry;
    entry.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst),
                                            MakeAttr(epilogue), CpuEngine());
    entry.primitive = dnnl::matmul(entry.pd);
    std::unique_lock lock(mutex);
    return entries.emplace(key, std::move(entry)).first->second;
  }

  std::shared_mutex mutex;
  // std::map: references stay valid as entries are added.
  std::map<Key, Entry> entries;
};

namespace {

class CpuLinear : public LinearLayer {
 public:
  CpuLinear(std::shared_ptr<CpuBackend::PrimitiveCache> cache, const float* weight,
            const float* bias, int out, int in, Precision precision, Epilogue epilogue)
      : LinearLayer(out, in),
        cache_(std::move(cache)),
        precision_(precision),
        epilogue_(epilogue),
        input_type_(precision == Precision::kBF16 ? Dt::bf16 : Dt::f32) {
    bias_ = memory(memory::desc({1, out}, Dt::f32, Tag::ab), CpuEngine());
    float* bias_data = static_cast<float*>(bias_.get_data_handle());
    for (int i = 0; i < out; ++i) bias_data[i] = bias != nullptr ? bias[i] : 0.0f;
    // The caller's [out, in] matrix is oneDNN's [K = in, N = out] weights in
    // "ba" order; reordered once into the layout the full-size kernel wants
    // (other row counts have wanted the same one so far; WeightsIn copes
    // otherwise).
    const auto& entry = cache_->Get(CpuBackend::kMaxRows, in, out, precision_, epilogue_);
    memory plain(memory::desc({in, out}, Dt::f32, Tag::ba), CpuEngine(),
                 const_cast<float*>(weight));
    memory blocked(entry.pd.weights_desc(), CpuEngine());
    dnnl::stream stream(CpuEngine());
    dnnl::reorder(plain, blocked).execute(stream, plain, blocked);
    stream.wait();
    weights_by_layout_.emplace_back(entry.pd.weights_desc(), std::move(blocked));
  }

  void Forward(const float* x, int rows, float* y) const override {
    ThreadState& state = LocalState();
    const int in = in_features();
    const int out = out_features();
    // Slices of at most kMaxRows rows: a bounded set of kernels, each as fast
    // per row as one made for the whole batch.
    for (int r0 = 0; r0 < rows; r0 += CpuBackend::kMaxRows) {
      const int n = std::min(CpuBackend::kMaxRows, rows - r0);
      const auto& entry = cache_->Get(n, in, out, precision_, epilogue_);
      const float* slice = x + static_cast<int64_t>(r0) * in;
      const void* input = slice;
      if (precision_ == Precision::kBF16) {
        const int64_t count = static_cast<int64_t>(n) * in;
        auto* converted = static_cast<uint16_t*>(state.bf16_input.Get(count * sizeof(uint16_t)));
        ToBf16(slice, count, converted);
        input = converted;
      }
      memory src(memory::desc({n, in}, input_type_, Tag::ab), CpuEngine(),
                 const_cast<void*>(input));
      memory dst(memory::desc({n, out}, Dt::f32, Tag::ab), CpuEngine(),
                 y + static_cast<int64_t>(r0) * out);
      const memory::desc scratch_desc = entry.pd.scratchpad_desc();
      memory scratch(scratch_desc, CpuEngine(), state.scratchpad.Get(scratch_desc.get_size()));
      entry.primitive.execute(state.stream, {{DNNL_ARG_SRC, src},
                                             {DNNL_ARG_WEIGHTS, WeightsIn(entry.pd.weights_desc())},
                                             {DNNL_ARG_BIAS, bias_},
                                             {DNNL_ARG_DST, dst},
                                             {DNNL_ARG_SCRATCHPAD, scratch}});
      state.stream.wait();
    }
  }

 private:
  // The weights in `layout`; a layout not seen before is reordered from the
  // first one (lossless: same data type).
  const memory& WeightsIn(const memory::desc& layout) const {
    {
      std::shared_lock lock(mutex_);
      for (const auto& [desc, mem] : weights_by_layout_) {
        if (desc == layout) return mem;
      }
    }
    std::unique_lock lock(mutex_);
    for (const auto& [desc, mem] : weights_by_layout_) {
      if (desc == layout) return mem;
    }
    memory converted(layout, CpuEngine());
    dnnl::stream stream(CpuEngine());
    memory first = weights_by_layout_.front().second;
    dnnl::reorder(first, converted).execute(stream, first, converted);
    stream.wait();
    weights_by_layout_.emplace_back(layout, std::move(converted));
    return weights_by_layout_.back().second;
  }

  std::shared_ptr<CpuBackend::PrimitiveCache> cache_;
  Precision precision_;
  Epilogue epilogue_;
  Dt input_type_;
  memory bias_;
  mutable std::shared_mutex mutex_;
  // std::deque: references stay valid as layouts are added.
  mutable std::deque<std::pair<memory::desc, memory>> weights_by_layout_;
};

bool ProbeBf16() {
  try {
    const memory::desc src({4, 32}, Dt::bf16, Tag::ab);
    const memory::desc weights({32, 32}, Dt::bf16, Tag::any);
    const memory::desc dst({4, 32}, Dt::f32, Tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), CpuEngine());
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

}  // namespace

struct CpuBackend::GemmCache {
  using Key = std::array<int64_t, 11>;
  struct Entry {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
    memory::desc a, b, c;
  };
  // Training shapes repeat from batch to batch; the bound only guards
  // against unbounded growth with ever-new shapes.
  static constexpr size_t kMaxEntries = 512;
  std::shared_mutex mutex;
  std::map<Key, std::shared_ptr<const Entry>> entries;
};

CpuBackend::CpuBackend()
    : primitives_(std::make_shared<PrimitiveCache>()),
      gemm_cache_(std::make_unique<GemmCache>()),
      bf16_supported_(ProbeBf16()) {}

CpuBackend::~CpuBackend() = default;

bool CpuBackend::Supports(Precision precision) const {
  return precision == Precision::kF32 || bf16_supported_;
}

std::unique_ptr<LinearLayer> CpuBackend::PrepareLinear(const float* weight, const float* bias,
                                                       int out, int in, Precision precision,
                                                       Epilogue epilogue) const {
  if (out <= 0 || in <= 0 || weight == nullptr) {
    throw ModelError("linear layer of invalid size [" + std::to_string(out) + ", " +
                     std::to_string(in) + "]");
  }
  if (!Supports(precision)) {
    throw ConfigError("precision " + std::string(PrecisionName(precision)) +
                      " is not supported by this CPU (bf16 needs AVX-512)");
  }
  try {
    return std::make_unique<CpuLinear>(primitives_, weight, bias, out, in, precision, epilogue);
  } catch (const dnnl::error& e) {
    throw ModelError("oneDNN cannot prepare a linear layer [" + std::to_string(out) + ", " +
                     std::to_string(in) + "]: " + e.what());
  }
}

void CpuBackend::Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                      int lda, const float* b, int ldb, float beta, float* c, int ldc) const {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<int64_t>(i) * ldc;
      for (int j = 0; j < n; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
    return;
  }
  const GemmCache::Key key = {trans_a,
                              trans_b,
                              m,
                              n,
                              k,
                              lda,
                              ldb,
                              ldc,
                              std::bit_cast<int32_t>(alpha),
                              std::bit_cast<int32_t>(beta),
                              0};
  std::shared_ptr<const GemmCache::Entry> entry;
  {
    std::shared_lock lock(gemm_cache_->mutex);
    auto it = gemm_cache_->entries.find(key);
    if (it != gemm_cache_->entries.end()) entry = it->second;
  }
  if (entry == nullptr) {
    auto made = std::make_shared<GemmCache::Entry>();
    // Element (i, p) of op(A) is at i * lda + p, or p * lda + i when
    // transposed: a strided view, no copy.
    made->a = memory::desc({m, k}, Dt::f32, trans_a ? memory::dims{1, lda} : memory::dims{lda, 1});
    made->b = memory::desc({k, n}, Dt::f32, trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1});
    made->c = memory::desc({m, n}, Dt::f32, memory::dims{ldc, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    made->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(made->a, made->b, made->c), attr,
                                            CpuEngine());
    made->primitive = dnnl::matmul(made->pd);
    entry = made;
    std::unique_lock lock(gemm_cache_->mutex);
    if (gemm_cache_->entries.size() >= GemmCache::kMaxEntries) gemm_cache_->entries.clear();
    gemm_cache_->entries.emplace(key, entry);
  }
  ThreadState& state = LocalState();
  memory ma(entry->a, CpuEngine(), const_cast<float*>(a));
  memory mb(entry->b, CpuEngine(), const_cast<float*>(b));
  memory mc(entry->c, CpuEngine(), c);
  const memory::desc scratch_desc = entry->pd.scratchpad_desc();
  memory scratch(scratch_desc, CpuEngine(), state.scratchpad.Get(scratch_desc.get_size()));
  entry->primitive.execute(state.stream, {{DNNL_ARG_SRC, ma},
                                          {DNNL_ARG_WEIGHTS, mb},
                                          {DNNL_ARG_DST, mc},
                                          {DNNL_ARG_SCRATCHPAD, scratch}});
  state.stream.wait();
}

}  // namespace chatbot::bert
