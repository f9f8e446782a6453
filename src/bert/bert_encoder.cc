#include "bert/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bert/bert_kernels.h"
#include "common/error.h"

namespace chatbot::bert {

struct BertEncoder::Layer {
  std::unique_ptr<LinearLayer> qkv;          // [3H, H]: query, key, value stacked
  std::unique_ptr<LinearLayer> attn_output;  // [H, H], adds to the residual
  std::vector<float> attn_ln_gamma, attn_ln_beta;
  std::unique_ptr<LinearLayer> intermediate;  // [I, H] with GELU
  std::unique_ptr<LinearLayer> output;        // [H, I], adds to the residual
  std::vector<float> out_ln_gamma, out_ln_beta;
};

// Per-thread working memory of Forward; vectors only grow.
struct BertEncoder::Scratch {
  std::vector<float> hidden;        // [rows, H], unless written straight into the output
  std::vector<float> qkv;           // [rows, 3H]
  std::vector<float> context;       // [rows, H]
  std::vector<float> intermediate;  // [rows, I]
  std::vector<float> cls;           // [batch, H]
  std::vector<float> pooled;        // [batch, H]
  std::vector<float> keys_t;        // [D, padded keys]: one head's keys, transposed
  std::vector<float> values;        // [keys, D]: one head's values, when gathered
  std::vector<float> scores;        // [kQueryBlock, padded keys]
  std::vector<int> row_begin, row_count, key_begin, key_count;
  std::vector<int> keys;      // key rows of each sequence, relative to its first row
  std::vector<int> token_of;  // row -> index into the batch's [batch, seq_len] arrays
};

namespace {

template <typename T>
void Grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Looks tensors up under their canonical name (or with the "bert." prefix,
// for a map taken from a file unchanged) and checks them.
class TensorSource {
 public:
  TensorSource(const std::map<std::string, Tensor>& tensors, const std::string& source)
      : tensors_(tensors), source_(source) {}

  const Tensor* Find(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) it = tensors_.find("bert." + name);
    return it == tensors_.end() ? nullptr : &it->second;
  }

  bool Has(const std::string& name) const { return Find(name) != nullptr; }

  const std::vector<float>& Get(const std::string& name, std::vector<int64_t> shape) const {
    const Tensor* t = Find(name);
    if (t == nullptr) throw ModelError(source_ + ": tensor \"" + name + "\" is missing");
    if (t->is_integer) {
      throw ModelError(source_ + ": tensor \"" + name + "\" is an integer tensor, expected float");
    }
    if (t->shape != shape) {
      throw ModelError(source_ + ": tensor \"" + name + "\" has shape " + ShapeString(t->shape) +
                       ", expected " + ShapeString(shape));
    }
    if (static_cast<int64_t>(t->values.size()) != t->numel()) {
      throw ModelError(source_ + ": tensor \"" + name + "\" holds " +
                       std::to_string(t->values.size()) + " values for shape " +
                       ShapeString(t->shape));
    }
    for (size_t i = 0; i < t->values.size(); ++i) {
      if (!std::isfinite(t->values[i])) {
        throw ModelError(source_ + ": tensor \"" + name + "\" has a non-finite value at index " +
                         std::to_string(i));
      }
    }
    return t->values;
  }

 private:
  const std::map<std::string, Tensor>& tensors_;
  const std::string& source_;
};

// Register-blocked attention of one head: kQueryBlock queries at a time
// against 8 keys (scores) or 8/16 dimensions (context), with the partial sums
// in vector registers and each key or value row loaded used for every query
// of the block. GCC's vector extension states the blocking: written as plain
// loops over small arrays, GCC vectorised the wrong loop (over the head
// dimension, with shuffles and spills), 5x slower.
typedef float Vec8 __attribute__((vector_size(32)));
#if defined(__GNUC__) && !defined(__clang__)
// Vec8 never crosses a translation unit, so GCC's note that its by-value ABI
// differs with and without AVX (builds without -march) does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

inline Vec8 Load8(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void Store8(float* p, Vec8 v) {
  std::memcpy(p, &v, sizeof(v));
}

constexpr int kQueryBlock = 4;
constexpr int kKeyBlock = 8;

struct HeadAttention {
  int head_dim = 0;
  int num_keys = 0;
  int padded_keys = 0;  // num_keys rounded up to kKeyBlock
  float scale = 1.0f;
  const float* keys_t = nullptr;  // [head_dim, padded_keys]
  const float* values = nullptr;  // row j at values + j * value_stride
  int64_t value_stride = 0;
  float* scores = nullptr;  // [kQueryBlock, padded_keys]

  // Queries: row i at q + i * q_stride; context row i at out + i * out_stride.
  void Run(const float* q, int64_t q_stride, int num_queries, float* out,
           int64_t out_stride) const {
    for (int i0 = 0; i0 < num_queries; i0 += kQueryBlock) {
      const int count = std::min(kQueryBlock, num_queries - i0);
      const float* rows[kQueryBlock];
      // A short block repeats its first query; those results are dropped.
      for (int r = 0; r < kQueryBlock; ++r) rows[r] = q + (i0 + (r < count ? r : 0)) * q_stride;
      Scores(rows);
      for (int r = 0; r < count; ++r) SoftmaxRows(scores + r * padded_keys, 1, num_keys);
      float* out_rows[kQueryBlock];
      for (int r = 0; r < kQueryBlock; ++r) out_rows[r] = out + (i0 + r) * out_stride;
      if (head_dim % 8 == 0) {
        Context8(out_rows, count);
      } else {
        ContextScalar(out_rows, count);
      }
    }
  }

  void Scores(const float* const* rows) const {
    int j0 = 0;
    // 16 keys (two vectors) per step where possible: more multiply-adds per
    // broadcast query element.
    for (; j0 + 16 <= padded_keys; j0 += 16) {
      Vec8 a0 = {}, a1 = {}, b0 = {}, b1 = {}, c0 = {}, c1 = {}, d0 = {}, d1 = {};
      for (int e = 0; e < head_dim; ++e) {
        const Vec8 lo = Load8(keys_t + e * padded_keys + j0);
        const Vec8 hi = Load8(keys_t + e * padded_keys + j0 + 8);
        const float q0 = rows[0][e], q1 = rows[1][e], q2 = rows[2][e], q3 = rows[3][e];
        a0 += q0 * lo;
        a1 += q0 * hi;
        b0 += q1 * lo;
        b1 += q1 * hi;
        c0 += q2 * lo;
        c1 += q2 * hi;
        d0 += q3 * lo;
        d1 += q3 * hi;
      }
      Store8(scores + j0, a0 * scale);
      Store8(scores + j0 + 8, a1 * scale);
      Store8(scores + padded_keys + j0, b0 * scale);
      Store8(scores + padded_keys + j0 + 8, b1 * scale);
      Store8(scores + 2 * padded_keys + j0, c0 * scale);
      Store8(scores + 2 * padded_keys + j0 + 8, c1 * scale);
      Store8(scores + 3 * padded_keys + j0, d0 * scale);
      Store8(scores + 3 * padded_keys + j0 + 8, d1 * scale);
    }
    for (; j0 < padded_keys; j0 += kKeyBlock) {
      Vec8 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {};
      for (int e = 0; e < head_dim; ++e) {
        const Vec8 k = Load8(keys_t + e * padded_keys + j0);
        acc0 += rows[0][e] * k;
        acc1 += rows[1][e] * k;
        acc2 += rows[2][e] * k;
        acc3 += rows[3][e] * k;
      }
      Store8(scores + j0, acc0 * scale);
      Store8(scores + padded_keys + j0, acc1 * scale);
      Store8(scores + 2 * padded_keys + j0, acc2 * scale);
      Store8(scores + 3 * padded_keys + j0, acc3 * scale);
    }
  }

  void Context8(float* const* out_rows, int count) const {
    const float* p0 = scores;
    const float* p1 = scores + padded_keys;
    const float* p2 = scores + 2 * padded_keys;
    const float* p3 = scores + 3 * padded_keys;
    int d0 = 0;
    for (; d0 + 16 <= head_dim; d0 += 16) {
      Vec8 a0 = {}, a1 = {}, b0 = {}, b1 = {}, c0 = {}, c1 = {}, e0 = {}, e1 = {};
      for (int j = 0; j < num_keys; ++j) {
        const float* v = values + j * value_stride + d0;
        const Vec8 lo = Load8(v);
        const Vec8 hi = Load8(v + 8);
        a0 += p0[j] * lo;
        a1 += p0[j] * hi;
        b0 += p1[j] * lo;
        b1 += p1[j] * hi;
        c0 += p2[j] * lo;
        c1 += p2[j] * hi;
        e0 += p3[j] * lo;
        e1 += p3[j] * hi;
      }
      const Vec8 lo[kQueryBlock] = {a0, b0, c0, e0};
      const Vec8 hi[kQueryBlock] = {a1, b1, c1, e1};
      for (int r = 0; r < count; ++r) {
        Store8(out_rows[r] + d0, lo[r]);
        Store8(out_rows[r] + d0 + 8, hi[r]);
      }
    }
    for (; d0 < head_dim; d0 += 8) {
      Vec8 a = {}, b = {}, c = {}, e = {};
      for (int j = 0; j < num_keys; ++j) {
        const Vec8 v = Load8(values + j * value_stride + d0);
        a += p0[j] * v;
        b += p1[j] * v;
        c += p2[j] * v;
        e += p3[j] * v;
      }
      const Vec8 acc[kQueryBlock] = {a, b, c, e};
      for (int r = 0; r < count; ++r) Store8(out_rows[r] + d0, acc[r]);
    }
  }

  void ContextScalar(float* const* out_rows, int count) const {
    for (int r = 0; r < count; ++r) {
      const float* p = scores + r * padded_keys;
      for (int e = 0; e < head_dim; ++e) {
        float sum = 0.0f;
        for (int j = 0; j < num_keys; ++j) sum += p[j] * values[j * value_stride + e];
        out_rows[r][e] = sum;
      }
    }
  }
};

}  // namespace

BertEncoder::BertEncoder(const BertConfig& config, const std::map<std::string, Tensor>& tensors,
                         std::shared_ptr<const ComputeBackend> backend, Precision precision,
                         const std::string& source)
    : config_(config), precision_(precision), backend_(std::move(backend)) {
  config_.Validate(source);
  if (backend_ == nullptr) backend_ = DefaultComputeBackend();
  if (!backend_->Supports(precision_)) {
    throw ConfigError("the " + backend_->name() + " backend does not support precision " +
                      std::string(PrecisionName(precision_)));
  }
  const TensorSource src(tensors, source);
  const int64_t h = config_.hidden_size;
  const int64_t inter = config_.intermediate_size;

  word_embeddings_ = src.Get("embeddings.word_embeddings.weight", {config_.vocab_size, h});
  position_embeddings_ =
      src.Get("embeddings.position_embeddings.weight", {config_.max_position_embeddings, h});
  type_embeddings_ =
      src.Get("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, h});
  embedding_ln_gamma_ = src.Get("embeddings.LayerNorm.weight", {h});
  embedding_ln_beta_ = src.Get("embeddings.LayerNorm.bias", {h});

  const auto linear = [&](const std::string& prefix, int64_t out, int64_t in, Epilogue epilogue) {
    const std::vector<float>& w = src.Get(prefix + ".weight", {out, in});
    const std::vector<float>& b = src.Get(prefix + ".bias", {out});
    return backend_->PrepareLinear(w.data(), b.data(), static_cast<int>(out), static_cast<int>(in),
                                   precision_, epilogue);
  };

  layers_.resize(config_.num_hidden_layers);
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    Layer& layer = layers_[i];
    std::vector<float> qkv_w;
    std::vector<float> qkv_b;
    qkv_w.reserve(3 * h * h);
    qkv_b.reserve(3 * h);
    for (const char* part : {"query", "key", "value"}) {
      const std::string name = p + "attention.self." + part;
      const std::vector<float>& w = src.Get(name + ".weight", {h, h});
      const std::vector<float>& b = src.Get(name + ".bias", {h});
      qkv_w.insert(qkv_w.end(), w.begin(), w.end());
      qkv_b.insert(qkv_b.end(), b.begin(), b.end());
    }
    layer.qkv = backend_->PrepareLinear(qkv_w.data(), qkv_b.data(), static_cast<int>(3 * h),
                                        static_cast<int>(h), precision_, Epilogue::kNone);
    layer.attn_output = linear(p + "attention.output.dense", h, h, Epilogue::kAccumulate);
    layer.attn_ln_gamma = src.Get(p + "attention.output.LayerNorm.weight", {h});
    layer.attn_ln_beta = src.Get(p + "attention.output.LayerNorm.bias", {h});
    layer.intermediate = linear(p + "intermediate.dense", inter, h, Epilogue::kGelu);
    layer.output = linear(p + "output.dense", h, inter, Epilogue::kAccumulate);
    layer.out_ln_gamma = src.Get(p + "output.LayerNorm.weight", {h});
    layer.out_ln_beta = src.Get(p + "output.LayerNorm.bias", {h});
  }

  has_pooler_ = src.Has("pooler.dense.weight") || src.Has("pooler.dense.bias");
  if (has_pooler_) pooler_ = linear("pooler.dense", h, h, Epilogue::kNone);

  if (src.Has("classifier.weight") || src.Has("classifier.bias")) {
    const Tensor* w = src.Find("classifier.weight");
    if (w == nullptr) throw ModelError(source + ": tensor \"classifier.weight\" is missing");
    if (w->shape.size() != 2 || w->shape[0] < 1) {
      throw ModelError(source + ": tensor \"classifier.weight\" has shape " +
                       ShapeString(w->shape) + ", expected [num_labels, " + std::to_string(h) +
                       "]");
    }
    const int64_t labels = w->shape[0];
    if (!config_.labels.empty() && static_cast<int64_t>(config_.labels.size()) != labels) {
      throw ModelError(source + ": tensor \"classifier.weight\" has " + std::to_string(labels) +
                       " rows but the config names " + std::to_string(config_.labels.size()) +
                       " labels");
    }
    if (!has_pooler_) {
      throw ModelError(source + ": the checkpoint has a classifier but no pooler " +
                       "(tensor \"pooler.dense.weight\" is missing)");
    }
    classifier_ = linear("classifier", labels, h, Epilogue::kNone);
    num_labels_ = static_cast<int>(labels);
  }
}

BertEncoder::~BertEncoder() = default;

void BertEncoder::Validate(const EncoderBatch& batch) const {
  if (batch.batch < 0 || batch.seq_len < 1) {
    throw DataError("encoder batch: invalid shape [" + std::to_string(batch.batch) + ", " +
                    std::to_string(batch.seq_len) + "]");
  }
  if (batch.seq_len > config_.max_position_embeddings) {
    throw DataError("encoder batch: sequence length " + std::to_string(batch.seq_len) +
                    " exceeds the model's max_position_embeddings " +
                    std::to_string(config_.max_position_embeddings));
  }
  const size_t n = static_cast<size_t>(batch.batch) * batch.seq_len;
  const auto check_size = [&](const std::vector<int32_t>& v, const char* what, bool optional) {
    if (v.size() != n && !(optional && v.empty())) {
      throw DataError(std::string("encoder batch: ") + what + " has " + std::to_string(v.size()) +
                      " entries, expected " + std::to_string(n) + " (batch " +
                      std::to_string(batch.batch) + " x seq_len " + std::to_string(batch.seq_len) +
                      ")");
    }
  };
  check_size(batch.input_ids, "input_ids", false);
  check_size(batch.token_type_ids, "token_type_ids", true);
  check_size(batch.attention_mask, "attention_mask", true);
  const auto where = [&](size_t i) {
    return " at sequence " + std::to_string(i / batch.seq_len) + ", position " +
           std::to_string(i % batch.seq_len);
  };
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = batch.input_ids[i];
    if (id < 0 || id >= config_.vocab_size) {
      throw DataError("encoder batch: token id " + std::to_string(id) + where(i) +
                      " is outside the vocabulary of " + std::to_string(config_.vocab_size));
    }
  }
  for (size_t i = 0; i < batch.token_type_ids.size(); ++i) {
    const int32_t t = batch.token_type_ids[i];
    if (t < 0 || t >= config_.type_vocab_size) {
      throw DataError("encoder batch: token type id " + std::to_string(t) + where(i) +
                      " is outside [0, " + std::to_string(config_.type_vocab_size) + ")");
    }
  }
  for (size_t i = 0; i < batch.attention_mask.size(); ++i) {
    const int32_t m = batch.attention_mask[i];
    if (m != 0 && m != 1) {
      throw DataError("encoder batch: attention mask value " + std::to_string(m) + where(i) +
                      " is not 0 or 1");
    }
  }
}

// Scaled dot-product attention of one sequence, all heads: the queries of
// rows [rows_begin, rows_begin + rows) of `qkv` against the keys and values
// of rows rows_begin + keys[j]. Keys outside `keys` (padding) get weight 0,
// exactly what Hugging Face's additive mask of finfo.min gives after the
// softmax.
void BertEncoder::Attention(const float* qkv, int rows_begin, int rows, const int* keys,
                            int num_keys, float* context, Scratch& s) const {
  const int h = config_.hidden_size;
  const int d = config_.head_size();
  const int64_t stride = 3 * static_cast<int64_t>(h);
  const int padded_keys = (num_keys + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
  bool contiguous = true;
  for (int j = 1; j < num_keys; ++j) contiguous &= keys[j] == keys[0] + j;
  Grow(s.keys_t, static_cast<size_t>(d) * padded_keys);
  Grow(s.values, contiguous ? 0 : static_cast<size_t>(d) * num_keys);
  Grow(s.scores, static_cast<size_t>(kQueryBlock) * padded_keys);
  HeadAttention attention;
  attention.head_dim = d;
  attention.num_keys = num_keys;
  attention.padded_keys = padded_keys;
  attention.scale = 1.0f / std::sqrt(static_cast<float>(d));
  attention.keys_t = s.keys_t.data();
  attention.scores = s.scores.data();
  const float* base = qkv + rows_begin * stride;
  for (int head = 0; head < config_.num_attention_heads; ++head) {
    const int offset = head * d;
    // Keys transposed ([d, padded_keys], zero-padded) so a block of scores is
    // a row of multiply-adds; values read in place when the keys are
    // consecutive rows (no padding, or padding at the end), else gathered.
    float* kt = s.keys_t.data();
    for (int j = 0; j < num_keys; ++j) {
      const float* k = base + keys[j] * stride + h + offset;
      for (int e = 0; e < d; ++e) kt[e * padded_keys + j] = k[e];
    }
    for (int e = 0; e < d; ++e) {
      for (int j = num_keys; j < padded_keys; ++j) kt[e * padded_keys + j] = 0.0f;
    }
    if (contiguous) {
      attention.values = base + keys[0] * stride + 2 * h + offset;
      attention.value_stride = stride;
    } else {
      float* v = s.values.data();
      for (int j = 0; j < num_keys; ++j) {
        std::memcpy(v + static_cast<int64_t>(j) * d, base + keys[j] * stride + 2 * h + offset,
                    sizeof(float) * d);
      }
      attention.values = v;
      attention.value_stride = d;
    }
    attention.Run(base + offset, stride, rows,
                  context + static_cast<int64_t>(rows_begin) * h + offset, h);
  }
}

void BertEncoder::Forward(const EncoderBatch& batch, EncoderOutput* output,
                          const EncoderOptions& options) const {
  Validate(batch);
  const bool want_pooler = options.want_pooler;
  const bool want_logits = options.want_logits && classifier_ != nullptr;
  if ((want_pooler || want_logits) && !has_pooler_) {
    throw ModelError("the encoder has no pooler (pooler.dense) to compute pooler_output");
  }
  thread_local Scratch s;
  const int nb = batch.batch;
  const int seq = batch.seq_len;
  const int h = config_.hidden_size;
  const auto mask = [&](int b, int t) {
    return batch.attention_mask.empty() || batch.attention_mask[b * seq + t] != 0;
  };

  // Rows to compute: every position (Hugging Face's layout), or only the real
  // tokens when the padding's outputs are not wanted and each sequence starts
  // with a real token (the pooler reads position 0).
  bool packed = !options.want_last_hidden;
  for (int b = 0; b < nb && packed; ++b) packed = mask(b, 0);
  Grow(s.row_begin, nb);
  Grow(s.row_count, nb);
  Grow(s.key_begin, nb);
  Grow(s.key_count, nb);
  Grow(s.token_of, static_cast<size_t>(nb) * seq);
  Grow(s.keys, static_cast<size_t>(nb) * seq);
  int rows = 0;
  int num_keys = 0;
  for (int b = 0; b < nb; ++b) {
    s.row_begin[b] = rows;
    s.key_begin[b] = num_keys;
    int real = 0;
    for (int t = 0; t < seq; ++t) {
      if (packed && !mask(b, t)) continue;
      if (mask(b, t)) s.keys[num_keys + real++] = rows - s.row_begin[b];
      s.token_of[rows++] = b * seq + t;
    }
    if (real == 0) {
      // All padding: every score is finfo.min in Hugging Face, so the
      // softmax is uniform over all positions.
      for (int t = 0; t < seq; ++t) s.keys[num_keys + t] = t;
      real = seq;
    }
    s.row_count[b] = rows - s.row_begin[b];
    s.key_count[b] = real;
    num_keys += real;
  }

  output->batch = nb;
  output->seq_len = seq;
  output->hidden = h;
  output->num_labels = want_logits ? num_labels_ : 0;
  output->last_hidden_state.clear();
  float* hidden;
  if (options.want_last_hidden) {
    output->last_hidden_state.resize(static_cast<size_t>(rows) * h);
    hidden = output->last_hidden_state.data();
  } else {
    Grow(s.hidden, static_cast<size_t>(rows) * h);
    hidden = s.hidden.data();
  }
  Grow(s.qkv, static_cast<size_t>(rows) * 3 * h);
  Grow(s.context, static_cast<size_t>(rows) * h);
  Grow(s.intermediate, static_cast<size_t>(rows) * config_.intermediate_size);

  // Embeddings.
  for (int r = 0; r < rows; ++r) {
    const int token = s.token_of[r];
    const int position = token % seq;
    const int type = batch.token_type_ids.empty() ? 0 : batch.token_type_ids[token];
    const float* w = word_embeddings_.data() + static_cast<int64_t>(batch.input_ids[token]) * h;
    const float* p = position_embeddings_.data() + static_cast<int64_t>(position) * h;
    const float* t = type_embeddings_.data() + static_cast<int64_t>(type) * h;
    float* out = hidden + static_cast<int64_t>(r) * h;
    for (int i = 0; i < h; ++i) out[i] = w[i] + p[i] + t[i];
  }
  const float eps = config_.layer_norm_eps;
  LayerNorm(hidden, embedding_ln_gamma_.data(), embedding_ln_beta_.data(), rows, h, eps, hidden,
            nullptr, nullptr);

  for (const Layer& layer : layers_) {
    layer.qkv->Forward(hidden, rows, s.qkv.data());
    for (int b = 0; b < nb; ++b) {
      Attention(s.qkv.data(), s.row_begin[b], s.row_count[b], s.keys.data() + s.key_begin[b],
                s.key_count[b], s.context.data(), s);
    }
    layer.attn_output->Forward(s.context.data(), rows, hidden);
    LayerNorm(hidden, layer.attn_ln_gamma.data(), layer.attn_ln_beta.data(), rows, h, eps, hidden,
              nullptr, nullptr);
    layer.intermediate->Forward(hidden, rows, s.intermediate.data());
    layer.output->Forward(s.intermediate.data(), rows, hidden);
    LayerNorm(hidden, layer.out_ln_gamma.data(), layer.out_ln_beta.data(), rows, h, eps, hidden,
              nullptr, nullptr);
  }

  output->mean_pooled.clear();
  if (options.want_mean) {
    output->mean_pooled.assign(static_cast<size_t>(nb) * h, 0.0f);
    for (int b = 0; b < nb; ++b) {
      float* mean = output->mean_pooled.data() + static_cast<int64_t>(b) * h;
      int count = 0;
      for (int r = s.row_begin[b]; r < s.row_begin[b] + s.row_count[b]; ++r) {
        if (!mask(b, s.token_of[r] % seq)) continue;
        const float* x = hidden + static_cast<int64_t>(r) * h;
        for (int i = 0; i < h; ++i) mean[i] += x[i];
        ++count;
      }
      if (count > 0) {
        const float inv = 1.0f / static_cast<float>(count);
        for (int i = 0; i < h; ++i) mean[i] *= inv;
      }
    }
  }

  output->pooler_output.clear();
  output->logits.clear();
  if (want_pooler || want_logits) {
    Grow(s.cls, static_cast<size_t>(nb) * h);
    for (int b = 0; b < nb; ++b) {
      std::memcpy(s.cls.data() + static_cast<int64_t>(b) * h,
                  hidden + static_cast<int64_t>(s.row_begin[b]) * h, sizeof(float) * h);
    }
    float* pooled;
    if (want_pooler) {
      output->pooler_output.resize(static_cast<size_t>(nb) * h);
      pooled = output->pooler_output.data();
    } else {
      Grow(s.pooled, static_cast<size_t>(nb) * h);
      pooled = s.pooled.data();
    }
    pooler_->Forward(s.cls.data(), nb, pooled);
    Tanh(pooled, static_cast<int64_t>(nb) * h, pooled);
    if (want_logits) {
      output->logits.resize(static_cast<size_t>(nb) * num_labels_);
      classifier_->Forward(pooled, nb, output->logits.data());
    }
  }
}

}  // namespace chatbot::bert
