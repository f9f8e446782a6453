// BertTrainingModel (bert_training_model.h). One concept in one file over
// 600 lines: the forward pass that keeps its activations and the backward
// pass that reads them mirror each other step by step, and reading one
// needs the other beside it.
#include "bert/bert_training_model.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "bert/bert_kernels.h"
#include "bert/parallel_slices.h"
#include "common/error.h"
#include "common/hash.h"

namespace chatbot::bert {
namespace {

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

// Inverted dropout of x[0..n), whose first element is element `base` of the
// site: element i is zeroed when the hash of (seed, base + i) falls below
// p * 2^32 and scaled by 1 / (1 - p) otherwise. Applying it again with the
// same arguments to a gradient is the backward pass.
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
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const dnnl_status_t s = dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success) {
    throw ModelError("BERT training: oneDNN sgemm failed (status " + std::to_string(s) + ")");
  }
}

// y[rows, out] = x[rows, in] W^T + b, W [out, in].
void Linear(const float* x, int64_t rows, int64_t in, const float* w, const float* b, int64_t out,
            float* y) {
  Gemm('N', 'T', rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  ForRows(rows, out, [&](int64_t r0, int64_t r1) {
    AddBias(y + r0 * out, b, static_cast<int>(r1 - r0), static_cast<int>(out));
  });
}

// Gradients of y = x W^T + b given dy: dW += dy^T x, db += column sums of
// dy, and (when dx is not null) dx = dy W, or dx += dy W with accumulate.
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

// LayerNorm y = (z - mean) * rstd * gamma + beta, backward: dz from dy, and
// dgamma += sum dy * xhat, dbeta += sum dy (rows in order).
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

// d *= GELU'(f) = Phi(f) + f * phi(f), in blocks so erf/exp vectorise.
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

void Resize(std::vector<float>* v, int64_t n) {
  v->resize(static_cast<size_t>(n));
}

// Examples per thread below which a batch is not split.
constexpr int kMinExamplesPerShard = 4;

}  // namespace

BertTrainingModel::BertTrainingModel(const BertParameters* params, TrainingModelOptions options)
    : params_(params), options_(options) {}

float BertTrainingModel::ForwardBackward(const TrainingBatch& batch, bool train, Rng& rng,
                                         Gradients* grads, std::vector<float>* logits) {
  return Run(batch, train, &rng, grads, logits);
}

void BertTrainingModel::Predict(const TrainingBatch& batch, std::vector<float>* logits) {
  Run(batch, false, nullptr, nullptr, logits);
}

float BertTrainingModel::Run(const TrainingBatch& batch, bool train, Rng* rng, Gradients* grads,
                             std::vector<float>* logits) {
  if (options_.num_threads > 0) omp_set_num_threads(options_.num_threads);
  if (grads != nullptr && grads->size() != params_->tensors().size()) {
    throw ModelError("BERT training: the gradients do not match the parameters");
  }
  const bool need_loss = grads != nullptr || rng != nullptr;
  Pack(batch, need_loss);
  const BertConfig& c = params_->config();
  dropout_ = train && (c.hidden_dropout_prob > 0 || c.attention_probs_dropout_prob > 0);
  step_seed_ = 0;
  if (train && rng != nullptr) step_seed_ = (*rng)();

  if (active_shards_ == 1) {
    RunShard(shards_[0], grads, need_loss);
  } else {
    std::vector<Gradients*> targets(static_cast<size_t>(active_shards_), grads);
    if (grads != nullptr) {
      for (int i = 1; i < active_shards_; ++i) {
        Shard& s = shards_[static_cast<size_t>(i)];
        if (s.own_grads == nullptr) s.own_grads = std::make_unique<Gradients>(*params_);
        targets[static_cast<size_t>(i)] = s.own_grads.get();
      }
    }
    RunSlices(active_shards_, [&](int i) {
      // Each thread clears its own buffers (the first slice adds to the caller's).
      if (i > 0 && grads != nullptr) targets[static_cast<size_t>(i)]->Zero();
      RunShard(shards_[static_cast<size_t>(i)], targets[static_cast<size_t>(i)], need_loss);
    });
    // Sum the other slices' gradients into the caller's, in slice order:
    // the row-sparse tables row by row, the dense tensors split between the
    // threads (each the same share of every tensor).
    if (grads != nullptr) {
      for (int i = 1; i < active_shards_; ++i) {
        const Gradients& own = *shards_[static_cast<size_t>(i)].own_grads;
        for (size_t p = 0; p < grads->size(); ++p) {
          if (!own.row_sparse(p)) continue;
          const int64_t n = own.row_size(p);
          for (int32_t r : own.touched_rows(p)) grads->AddToRow(p, r, own[p].data() + r * n);
        }
      }
      const int nt = active_shards_;
      RunSlices(nt, [&](int t) {
        for (size_t p = 0; p < grads->size(); ++p) {
          if (grads->row_sparse(p)) continue;
          float* dst = (*grads)[p].data();
          const int64_t n = static_cast<int64_t>((*grads)[p].size());
          const int64_t begin = n * t / nt;
          const int64_t end = n * (t + 1) / nt;
          for (int i = 1; i < active_shards_; ++i) {
            const float* src = (*shards_[static_cast<size_t>(i)].own_grads)[p].data();
            for (int64_t k = begin; k < end; ++k) dst[k] += src[k];
          }
        }
      });
    }
  }

  double loss_sum = 0;
  for (int i = 0; i < active_shards_; ++i) loss_sum += shards_[static_cast<size_t>(i)].loss_sum;
  if (logits != nullptr) {
    logits->clear();
    for (int i = 0; i < active_shards_; ++i) {
      const std::vector<float>& l = shards_[static_cast<size_t>(i)].logits;
      logits->insert(logits->end(), l.begin(), l.end());
    }
  }
  return need_loss ? static_cast<float>(loss_sum / batch_) : 0.0f;
}

void BertTrainingModel::RunShard(Shard& s, Gradients* grads, bool need_loss) {
  Forward(s);
  s.loss_sum = 0;
  if (need_loss) Loss(s, grads != nullptr);
  if (grads != nullptr) Backward(s, grads);
}

void BertTrainingModel::Pack(const TrainingBatch& batch, bool need_labels) {
  const BertConfig& c = params_->config();
  const int b_count = batch.batch_size;
  const int seq = batch.seq_len;
  if (b_count < 1 || seq < 1) {
    throw DataError("BERT batch: batch_size and seq_len must be positive (got " +
                    std::to_string(b_count) + " x " + std::to_string(seq) + ")");
  }
  const size_t cells = static_cast<size_t>(b_count) * static_cast<size_t>(seq);
  if (batch.input_ids.size() != cells ||
      (!batch.token_type_ids.empty() && batch.token_type_ids.size() != cells) ||
      (!batch.attention_mask.empty() && batch.attention_mask.size() != cells)) {
    throw DataError("BERT batch: input_ids, token_type_ids and attention_mask must hold " +
                    std::to_string(b_count) + " x " + std::to_string(seq) + " values");
  }
  if (seq > c.max_position_embeddings) {
    throw DataError("BERT batch: sequence length " + std::to_string(seq) +
                    " exceeds max_position_embeddings " +
                    std::to_string(c.max_position_embeddings));
  }
  if (need_labels) {
    if (batch.labels.size() != static_cast<size_t>(b_count)) {
      throw DataError("BERT batch: expected " + std::to_string(b_count) + " labels, got " +
                      std::to_string(batch.labels.size()));
    }
    for (int b = 0; b < b_count; ++b) {
      if (batch.labels[b] < 0 || batch.labels[b] >= params_->num_labels()) {
        throw DataError("BERT batch: example " + std::to_string(b) + " has label " +
                        std::to_string(batch.labels[b]) + ", outside [0, " +
                        std::to_string(params_->num_labels()) + ")");
      }
    }
  }
  // Validate every cell and count each example's real tokens.
  std::vector<int> lengths(static_cast<size_t>(b_count), 0);
  for (int b = 0; b < b_count; ++b) {
    for (int p = 0; p < seq; ++p) {
      const size_t cell = static_cast<size_t>(b) * seq + p;
      const int mask = batch.attention_mask.empty() ? 1 : batch.attention_mask[cell];
      if (mask != 0 && mask != 1) {
        throw DataError("BERT batch: example " + std::to_string(b) + " position " +
                        std::to_string(p) + ": attention_mask must be 0 or 1");
      }
      if (p == 0 && mask == 0) {
        throw DataError("BERT batch: example " + std::to_string(b) +
                        " masks its first token ([CLS])");
      }
      if (mask == 0) continue;
      const int id = batch.input_ids[cell];
      const int type = batch.token_type_ids.empty() ? 0 : batch.token_type_ids[cell];
      if (id < 0 || id >= c.vocab_size) {
        throw DataError("BERT batch: example " + std::to_string(b) + " position " +
                        std::to_string(p) + ": token id " + std::to_string(id) +
                        " outside the vocabulary of " + std::to_string(c.vocab_size));
      }
      if (type < 0 || type >= c.type_vocab_size) {
        throw DataError("BERT batch: example " + std::to_string(b) + " position " +
                        std::to_string(p) + ": token type " + std::to_string(type) +
                        " outside [0, " + std::to_string(c.type_vocab_size) + ")");
      }
      ++lengths[static_cast<size_t>(b)];
    }
  }
  batch_ = b_count;

  // Slices: one per thread when the batch is large enough, cut where the
  // running token count crosses equal shares.
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int count = std::max(1, std::min(threads, b_count / kMinExamplesPerShard));
  int64_t total_tokens = 0;
  for (int len : lengths) total_tokens += len;
  std::vector<int> begin(static_cast<size_t>(count) + 1, b_count);
  begin[0] = 0;
  {
    int64_t running = 0;
    int next = 1;
    for (int b = 0; b < b_count && next < count; ++b) {
      if (running * count >= total_tokens * next && b > begin[next - 1]) begin[next++] = b;
      running += lengths[static_cast<size_t>(b)];
    }
    // Every slice keeps at least one example.
    for (int i = count - 1; i >= 1; --i) {
      begin[i] = std::min(begin[i], begin[i + 1] - 1);
    }
  }
  if (shards_.size() < static_cast<size_t>(count)) shards_.resize(static_cast<size_t>(count));
  active_shards_ = count;

  const int heads = c.num_attention_heads;
  const size_t layer_count = static_cast<size_t>(c.num_hidden_layers);
  int64_t token_base = 0;
  std::vector<int64_t> att_base(layer_count, 0);
  for (int i = 0; i < count; ++i) {
    Shard& s = shards_[static_cast<size_t>(i)];
    s.ex_begin = begin[i];
    s.batch = begin[i + 1] - begin[i];
    s.token_base = token_base;
    s.ex_off.assign(static_cast<size_t>(s.batch), 0);
    s.ex_len.assign(static_cast<size_t>(s.batch), 0);
    s.ids.clear();
    s.pos.clear();
    s.types.clear();
    s.labels.clear();
    for (int e = 0; e < s.batch; ++e) {
      const int b = s.ex_begin + e;
      s.ex_off[e] = static_cast<int>(s.ids.size());
      s.ex_len[e] = lengths[static_cast<size_t>(b)];
      for (int p = 0; p < seq; ++p) {
        const size_t cell = static_cast<size_t>(b) * seq + p;
        if (!batch.attention_mask.empty() && batch.attention_mask[cell] == 0) continue;
        s.ids.push_back(batch.input_ids[cell]);
        s.pos.push_back(p);
        s.types.push_back(batch.token_type_ids.empty() ? 0 : batch.token_type_ids[cell]);
      }
      if (need_labels) s.labels.push_back(batch.labels[static_cast<size_t>(b)]);
    }
    s.tokens = static_cast<int>(s.ids.size());
    token_base += s.tokens;

    // Which rows each layer computes, and where its attention probabilities go.
    s.layers.resize(layer_count);
    s.hidden.resize(layer_count + 1);
    for (size_t l = 0; l < layer_count; ++l) {
      LayerActivations& a = s.layers[l];
      a.cls_only = options_.head == ClassifierHead::kPooler && l + 1 == layer_count;
      a.rows = a.cls_only ? s.batch : s.tokens;
      a.att_off.assign(static_cast<size_t>(s.batch) + 1, 0);
      for (int e = 0; e < s.batch; ++e) {
        const int64_t queries = a.cls_only ? 1 : s.ex_len[e];
        a.att_off[e + 1] = a.att_off[e] + heads * queries * s.ex_len[e];
      }
      a.att_base = att_base[l];
      att_base[l] += a.att_off[static_cast<size_t>(s.batch)];
    }
  }
}

void BertTrainingModel::Forward(Shard& s) {
  const BertConfig& c = params_->config();
  const auto& pt = params_->tensors();
  const BertParameterIndex& ix = params_->index();
  auto w = [&](int i) { return pt[static_cast<size_t>(i)].values.data(); };
  const int64_t t_count = s.tokens;
  const int64_t h = c.hidden_size;
  const int64_t inter = c.intermediate_size;
  const float p_hidden = dropout_ ? c.hidden_dropout_prob : 0.0f;
  // Dropout indices of [tokens, H] and [examples, H] arrays within the batch.
  const int64_t token_index = s.token_base * h;
  const int64_t example_index = static_cast<int64_t>(s.ex_begin) * h;

  // Embeddings.
  Resize(&s.emb_sum, t_count * h);
  Resize(&s.emb_mean, t_count);
  Resize(&s.emb_rstd, t_count);
  Resize(&s.hidden[0], t_count * h);
  {
    const float* we = w(ix.word_emb);
    const float* pe = w(ix.pos_emb);
    const float* te = w(ix.type_emb);
    for (int64_t t = 0; t < t_count; ++t) {
      const float* a = we + static_cast<int64_t>(s.ids[t]) * h;
      const float* b = pe + static_cast<int64_t>(s.pos[t]) * h;
      const float* d = te + static_cast<int64_t>(s.types[t]) * h;
      float* out = s.emb_sum.data() + t * h;
      for (int64_t i = 0; i < h; ++i) out[i] = a[i] + b[i] + d[i];
    }
    ForRows(t_count, h * 4, [&](int64_t r0, int64_t r1) {
      LayerNorm(s.emb_sum.data() + r0 * h, w(ix.emb_ln_w), w(ix.emb_ln_b),
                static_cast<int>(r1 - r0), static_cast<int>(h), c.layer_norm_eps,
                s.hidden[0].data() + r0 * h, s.emb_mean.data() + r0, s.emb_rstd.data() + r0);
    });
    Dropout(s.hidden[0].data(), t_count * h, SiteSeed(step_seed_, kSiteEmbeddings), token_index,
            p_hidden);
  }

  for (size_t l = 0; l < s.layers.size(); ++l) {
    const BertLayerParameterIndex& li = ix.layers[l];
    LayerActivations& a = s.layers[l];
    const float* x = s.hidden[l].data();
    const int64_t rows = a.rows;
    const int64_t row_index = a.cls_only ? example_index : token_index;
    // The query side: every token, or (last layer under the pooler head)
    // only each example's [CLS], the one row the loss depends on.
    const float* xq = x;
    if (a.cls_only) {
      Resize(&a.xq, rows * h);
      for (int b = 0; b < s.batch; ++b) {
        std::memcpy(a.xq.data() + b * h, x + static_cast<int64_t>(s.ex_off[b]) * h,
                    static_cast<size_t>(h) * sizeof(float));
      }
      xq = a.xq.data();
    }
    Resize(&a.q, rows * h);
    Resize(&a.k, t_count * h);
    Resize(&a.v, t_count * h);
    Resize(&a.ctx, rows * h);
    Resize(&a.z1, rows * h);
    Resize(&a.y1, rows * h);
    Resize(&a.mean1, rows);
    Resize(&a.rstd1, rows);
    Resize(&a.f, rows * inter);
    Resize(&a.g, rows * inter);
    Resize(&a.z2, rows * h);
    Resize(&a.mean2, rows);
    Resize(&a.rstd2, rows);
    Resize(&s.hidden[l + 1], rows * h);

    Linear(xq, rows, h, w(li.query_w), w(li.query_b), h, a.q.data());
    Linear(x, t_count, h, w(li.key_w), w(li.key_b), h, a.k.data());
    Linear(x, t_count, h, w(li.value_w), w(li.value_b), h, a.v.data());
    AttentionForward(s, static_cast<int>(l));

    // Attention output: dense, dropout, residual, LayerNorm.
    Linear(a.ctx.data(), rows, h, w(li.attn_out_w), w(li.attn_out_b), h, a.z1.data());
    Dropout(a.z1.data(), rows * h, SiteSeed(step_seed_, kSiteLayerBase + 4 * l + 1), row_index,
            p_hidden);
    for (int64_t i = 0; i < rows * h; ++i) a.z1[i] += xq[i];
    ForRows(rows, h * 4, [&](int64_t r0, int64_t r1) {
      LayerNorm(a.z1.data() + r0 * h, w(li.attn_ln_w), w(li.attn_ln_b), static_cast<int>(r1 - r0),
                static_cast<int>(h), c.layer_norm_eps, a.y1.data() + r0 * h, a.mean1.data() + r0,
                a.rstd1.data() + r0);
    });

    // Feed-forward: dense, GELU, dense, dropout, residual, LayerNorm.
    Linear(a.y1.data(), rows, h, w(li.inter_w), w(li.inter_b), inter, a.f.data());
    ForRows(rows, inter * 8, [&](int64_t r0, int64_t r1) {
      GeluErf(a.f.data() + r0 * inter, (r1 - r0) * inter, a.g.data() + r0 * inter);
    });
    Linear(a.g.data(), rows, inter, w(li.out_w), w(li.out_b), h, a.z2.data());
    Dropout(a.z2.data(), rows * h, SiteSeed(step_seed_, kSiteLayerBase + 4 * l + 2), row_index,
            p_hidden);
    for (int64_t i = 0; i < rows * h; ++i) a.z2[i] += a.y1[i];
    ForRows(rows, h * 4, [&](int64_t r0, int64_t r1) {
      LayerNorm(a.z2.data() + r0 * h, w(li.out_ln_w), w(li.out_ln_b), static_cast<int>(r1 - r0),
                static_cast<int>(h), c.layer_norm_eps, s.hidden[l + 1].data() + r0 * h,
                a.mean2.data() + r0, a.rstd2.data() + r0);
    });
  }

  // Classification head.
  const float* last = s.hidden.back().data();
  Resize(&s.pooled, s.batch * h);
  if (options_.head == ClassifierHead::kPooler) {
    // The last layer computed the [CLS] rows only: `last` is [B, H].
    Linear(last, s.batch, h, w(ix.pooler_w), w(ix.pooler_b), h, s.pooled.data());
    Tanh(s.pooled.data(), s.batch * h, s.pooled.data());
  } else {
    for (int b = 0; b < s.batch; ++b) {
      float* out = s.pooled.data() + b * h;
      std::fill_n(out, h, 0.0f);
      for (int t = s.ex_off[b]; t < s.ex_off[b] + s.ex_len[b]; ++t) {
        const float* r = last + static_cast<int64_t>(t) * h;
        for (int64_t i = 0; i < h; ++i) out[i] += r[i];
      }
      const float inv = 1.0f / static_cast<float>(s.ex_len[b]);
      for (int64_t i = 0; i < h; ++i) out[i] *= inv;
    }
  }
  s.pooled_drop = s.pooled;
  Dropout(s.pooled_drop.data(), s.batch * h, SiteSeed(step_seed_, kSitePooled), example_index,
          p_hidden);
  const int64_t labels = params_->num_labels();
  Resize(&s.logits, s.batch * labels);
  Linear(s.pooled_drop.data(), s.batch, h, w(ix.classifier_w), w(ix.classifier_b), labels,
         s.logits.data());
}

void BertTrainingModel::AttentionForward(Shard& s, int layer) {
  const BertConfig& c = params_->config();
  LayerActivations& a = s.layers[static_cast<size_t>(layer)];
  const int64_t h = c.hidden_size;
  const int heads = c.num_attention_heads;
  const int64_t d = c.head_size();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float p = dropout_ ? c.attention_probs_dropout_prob : 0.0f;
  const uint64_t seed = SiteSeed(step_seed_, kSiteLayerBase + 4 * static_cast<uint64_t>(layer));
  Resize(&a.probs, a.att_off[static_cast<size_t>(s.batch)]);
  if (p > 0.0f) Resize(&a.probs_drop, a.att_off[static_cast<size_t>(s.batch)]);
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && s.batch > 1 &&
                        static_cast<int64_t>(s.tokens) * h >= 8192;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int b = 0; b < s.batch; ++b) {
    const int64_t len = s.ex_len[b];
    const int64_t off = s.ex_off[b];
    const int64_t qlen = a.cls_only ? 1 : len;
    const int64_t qoff = a.cls_only ? b : off;
    for (int n = 0; n < heads; ++n) {
      const int64_t base = a.att_off[b] + n * qlen * len;
      float* probs = a.probs.data() + base;
      const float* q = a.q.data() + qoff * h + n * d;
      const float* k = a.k.data() + off * h + n * d;
      const float* v = a.v.data() + off * h + n * d;
      Gemm('N', 'T', qlen, len, d, scale, q, h, k, h, 0.0f, probs, len);
      SoftmaxRows(probs, static_cast<int>(qlen), static_cast<int>(len));
      const float* used = probs;
      if (p > 0.0f) {
        float* drop = a.probs_drop.data() + base;
        std::memcpy(drop, probs, static_cast<size_t>(qlen * len) * sizeof(float));
        Dropout(drop, qlen * len, seed, a.att_base + base, p);
        used = drop;
      }
      // ctx = probs V, row by row as sums of V rows (oneDNN is slow on these
      // tiny non-transposed products).
      for (int64_t i = 0; i < qlen; ++i) {
        float* out = a.ctx.data() + (qoff + i) * h + n * d;
        std::fill_n(out, d, 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float pij = used[i * len + j];
          const float* vj = v + j * h;
          for (int64_t e = 0; e < d; ++e) out[e] += pij * vj[e];
        }
      }
    }
  }
}

void BertTrainingModel::Loss(Shard& s, bool compute_grad) {
  const int64_t labels = params_->num_labels();
  Resize(&s.dlogits, s.batch * labels);
  double total = 0;
  for (int b = 0; b < s.batch; ++b) {
    const float* l = s.logits.data() + b * labels;
    float m = l[0];
    for (int64_t j = 1; j < labels; ++j) m = std::max(m, l[j]);
    double sum = 0;
    for (int64_t j = 0; j < labels; ++j) sum += std::exp(static_cast<double>(l[j] - m));
    const double lse = m + std::log(sum);
    const int y = s.labels[static_cast<size_t>(b)];
    total += lse - l[y];
    if (compute_grad) {
      // The loss is the mean over the whole batch, not over the slice.
      float* dl = s.dlogits.data() + b * labels;
      for (int64_t j = 0; j < labels; ++j) {
        const double prob = std::exp(static_cast<double>(l[j]) - lse);
        dl[j] = static_cast<float>((prob - (j == y ? 1.0 : 0.0)) / batch_);
      }
    }
  }
  s.loss_sum = total;
}

void BertTrainingModel::Backward(Shard& s, Gradients* grads) {
  const BertConfig& c = params_->config();
  const auto& pt = params_->tensors();
  const BertParameterIndex& ix = params_->index();
  auto w = [&](int i) { return pt[static_cast<size_t>(i)].values.data(); };
  auto g = [&](int i) { return (*grads)[static_cast<size_t>(i)].data(); };
  const int64_t t_count = s.tokens;
  const int64_t h = c.hidden_size;
  const int64_t inter = c.intermediate_size;
  const int64_t labels = params_->num_labels();
  const float p_hidden = dropout_ ? c.hidden_dropout_prob : 0.0f;
  const int64_t token_index = s.token_base * h;
  const int64_t example_index = static_cast<int64_t>(s.ex_begin) * h;

  Resize(&s.dh, t_count * h);
  Resize(&s.dres, t_count * h);
  Resize(&s.dtmp, t_count * h);
  Resize(&s.dctx, t_count * h);
  Resize(&s.dq, t_count * h);
  Resize(&s.dk, t_count * h);
  Resize(&s.dv, t_count * h);
  Resize(&s.dff, t_count * inter);
  Resize(&s.dpooled, s.batch * h);
  Resize(&s.dpre, s.batch * h);

  // Head; dh receives the gradient of the last layer's output rows.
  LinearBackward(s.dlogits.data(), s.pooled_drop.data(), s.batch, h, w(ix.classifier_w), labels,
                 g(ix.classifier_w), g(ix.classifier_b), s.dpooled.data(), false);
  Dropout(s.dpooled.data(), s.batch * h, SiteSeed(step_seed_, kSitePooled), example_index,
          p_hidden);
  if (options_.head == ClassifierHead::kPooler) {
    for (int64_t i = 0; i < s.batch * h; ++i) {
      s.dpre[i] = s.dpooled[i] * (1.0f - s.pooled[i] * s.pooled[i]);
    }
    LinearBackward(s.dpre.data(), s.hidden.back().data(), s.batch, h, w(ix.pooler_w), h,
                   g(ix.pooler_w), g(ix.pooler_b), s.dh.data(), false);
  } else {
    for (int b = 0; b < s.batch; ++b) {
      const float inv = 1.0f / static_cast<float>(s.ex_len[b]);
      const float* src = s.dpooled.data() + b * h;
      for (int t = s.ex_off[b]; t < s.ex_off[b] + s.ex_len[b]; ++t) {
        float* dst = s.dh.data() + static_cast<int64_t>(t) * h;
        for (int64_t i = 0; i < h; ++i) dst[i] = src[i] * inv;
      }
    }
  }

  // Encoder layers, last to first; dh holds the gradient of the layer's
  // output rows and becomes that of its input.
  for (int l = static_cast<int>(s.layers.size()) - 1; l >= 0; --l) {
    const BertLayerParameterIndex& li = ix.layers[static_cast<size_t>(l)];
    LayerActivations& a = s.layers[static_cast<size_t>(l)];
    const float* x = s.hidden[static_cast<size_t>(l)].data();
    const float* xq = a.cls_only ? a.xq.data() : x;
    const int64_t rows = a.rows;
    const int64_t row_index = a.cls_only ? example_index : token_index;
    const uint64_t site = kSiteLayerBase + 4 * static_cast<uint64_t>(l);

    // Output LayerNorm -> dres = d(z2), the residual sum.
    LayerNormBackward(s.dh.data(), a.z2.data(), a.mean2.data(), a.rstd2.data(), w(li.out_ln_w),
                      rows, h, s.dres.data(), g(li.out_ln_w), g(li.out_ln_b));
    // FFN output dense (through its dropout).
    std::copy_n(s.dres.begin(), rows * h, s.dtmp.begin());
    Dropout(s.dtmp.data(), rows * h, SiteSeed(step_seed_, site + 2), row_index, p_hidden);
    LinearBackward(s.dtmp.data(), a.g.data(), rows, inter, w(li.out_w), h, g(li.out_w), g(li.out_b),
                   s.dff.data(), false);
    GeluBackward(a.f.data(), rows * inter, s.dff.data());
    // Intermediate dense; dres becomes d(y1): residual + FFN path.
    LinearBackward(s.dff.data(), a.y1.data(), rows, h, w(li.inter_w), inter, g(li.inter_w),
                   g(li.inter_b), s.dres.data(), true);
    // Attention LayerNorm -> dh = d(z1).
    LayerNormBackward(s.dres.data(), a.z1.data(), a.mean1.data(), a.rstd1.data(), w(li.attn_ln_w),
                      rows, h, s.dh.data(), g(li.attn_ln_w), g(li.attn_ln_b));
    // Attention output dense (through its dropout).
    std::copy_n(s.dh.begin(), rows * h, s.dtmp.begin());
    Dropout(s.dtmp.data(), rows * h, SiteSeed(step_seed_, site + 1), row_index, p_hidden);
    LinearBackward(s.dtmp.data(), a.ctx.data(), rows, h, w(li.attn_out_w), h, g(li.attn_out_w),
                   g(li.attn_out_b), s.dctx.data(), false);
    AttentionBackward(s, l);
    // Q, K, V projections. The residual gradient d(z1) (in dh) flows to the
    // query-side rows, together with dQ Wq; dK Wk + dV Wv reach every token.
    LinearBackward(s.dq.data(), xq, rows, h, w(li.query_w), h, g(li.query_w), g(li.query_b),
                   s.dh.data(), true);
    if (a.cls_only) {
      LinearBackward(s.dk.data(), x, t_count, h, w(li.key_w), h, g(li.key_w), g(li.key_b),
                     s.dres.data(), false);
      LinearBackward(s.dv.data(), x, t_count, h, w(li.value_w), h, g(li.value_w), g(li.value_b),
                     s.dres.data(), true);
      for (int b = 0; b < s.batch; ++b) {
        float* dst = s.dres.data() + static_cast<int64_t>(s.ex_off[b]) * h;
        const float* src = s.dh.data() + b * h;
        for (int64_t i = 0; i < h; ++i) dst[i] += src[i];
      }
      s.dh.swap(s.dres);
    } else {
      LinearBackward(s.dk.data(), x, t_count, h, w(li.key_w), h, g(li.key_w), g(li.key_b),
                     s.dh.data(), true);
      LinearBackward(s.dv.data(), x, t_count, h, w(li.value_w), h, g(li.value_w), g(li.value_b),
                     s.dh.data(), true);
    }
  }

  // Embeddings: dropout, LayerNorm, then the three tables, row by row.
  Dropout(s.dh.data(), t_count * h, SiteSeed(step_seed_, kSiteEmbeddings), token_index, p_hidden);
  LayerNormBackward(s.dh.data(), s.emb_sum.data(), s.emb_mean.data(), s.emb_rstd.data(),
                    w(ix.emb_ln_w), t_count, h, s.dres.data(), g(ix.emb_ln_w), g(ix.emb_ln_b));
  for (int64_t t = 0; t < t_count; ++t) {
    const float* d = s.dres.data() + t * h;
    // nn.Embedding(padding_idx=pad_token_id): the padding row gets no gradient.
    if (s.ids[t] != c.pad_token_id) {
      grads->AddToRow(static_cast<size_t>(ix.word_emb), s.ids[t], d);
    }
    grads->AddToRow(static_cast<size_t>(ix.pos_emb), s.pos[t], d);
    grads->AddToRow(static_cast<size_t>(ix.type_emb), s.types[t], d);
  }
}

void BertTrainingModel::AttentionBackward(Shard& s, int layer) {
  const BertConfig& c = params_->config();
  LayerActivations& a = s.layers[static_cast<size_t>(layer)];
  const int64_t h = c.hidden_size;
  const int heads = c.num_attention_heads;
  const int64_t d = c.head_size();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float p = dropout_ ? c.attention_probs_dropout_prob : 0.0f;
  const uint64_t seed = SiteSeed(step_seed_, kSiteLayerBase + 4 * static_cast<uint64_t>(layer));
  Resize(&s.dprobs, a.att_off[static_cast<size_t>(s.batch)]);
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && s.batch > 1 &&
                        static_cast<int64_t>(s.tokens) * h >= 8192;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int b = 0; b < s.batch; ++b) {
    const int64_t len = s.ex_len[b];
    const int64_t off = s.ex_off[b];
    const int64_t qlen = a.cls_only ? 1 : len;
    const int64_t qoff = a.cls_only ? b : off;
    for (int n = 0; n < heads; ++n) {
      const int64_t base = a.att_off[b] + n * qlen * len;
      const float* probs = a.probs.data() + base;
      const float* used = p > 0.0f ? a.probs_drop.data() + base : probs;
      float* dp = s.dprobs.data() + base;
      const int64_t qcol = qoff * h + n * d;  // query-side rows
      const int64_t kcol = off * h + n * d;   // key/value rows
      // d(dropped probs) = dctx V^T; dV = dropped probs^T dctx.
      Gemm('N', 'T', qlen, len, d, 1.0f, s.dctx.data() + qcol, h, a.v.data() + kcol, h, 0.0f, dp,
           len);
      Gemm('T', 'N', len, d, qlen, 1.0f, used, len, s.dctx.data() + qcol, h, 0.0f,
           s.dv.data() + kcol, h);
      if (p > 0.0f) Dropout(dp, qlen * len, seed, a.att_base + base, p);
      // Softmax backward: dS = P * (dP - rowsum(P * dP)).
      for (int64_t i = 0; i < qlen; ++i) {
        const float* pr = probs + i * len;
        float* dr = dp + i * len;
        float dot = 0.0f;
        for (int64_t j = 0; j < len; ++j) dot += pr[j] * dr[j];
        for (int64_t j = 0; j < len; ++j) dr[j] = pr[j] * (dr[j] - dot);
      }
      // S = scale Q K^T: dQ = scale dS K (as sums of K rows), dK = scale dS^T Q.
      for (int64_t i = 0; i < qlen; ++i) {
        float* out = s.dq.data() + qcol + i * h;
        std::fill_n(out, d, 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float sij = scale * dp[i * len + j];
          const float* kj = a.k.data() + kcol + j * h;
          for (int64_t e = 0; e < d; ++e) out[e] += sij * kj[e];
        }
      }
      Gemm('T', 'N', len, d, qlen, scale, dp, len, a.q.data() + qcol, h, 0.0f, s.dk.data() + kcol,
           h);
    }
  }
}

}  // namespace chatbot::bert
