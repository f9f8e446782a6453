// The forward pass of BertTrainingModel (bert_training_model.h), which
// keeps its activations, and the backward pass that reads them. They are one
// file because they mirror each other step by step and reading one needs
// the other beside it; what both read of a shard and of a layer's attention
// is set up once here.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "bert/bert_kernels.h"
#include "bert/bert_training_model.h"
#include "bert/training_kernels.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using training::Dropout;
using training::ForRows;
using training::GeluBackward;
using training::Gemm;
using training::kSiteEmbeddings;
using training::kSiteLayerBase;
using training::kSitePooled;
using training::LayerNormBackward;
using training::Linear;
using training::LinearBackward;
using training::Resize;
using training::SiteSeed;

// What both passes read of a shard: the architecture, the parameters, the
// hidden dropout rate, and where the shard's [tokens, H] and [examples, H]
// rows start within the batch's (their dropout indices).
struct PassSetup {
  template <typename Shard>
  PassSetup(const BertParameters& params, bool dropout, const Shard& s)
      : c(params.config()),
        ix(params.index()),
        pt(params.tensors()),
        h(c.hidden_size),
        p_hidden(dropout ? c.hidden_dropout_prob : 0.0f),
        token_index(s.token_base * h),
        example_index(static_cast<int64_t>(s.ex_begin) * h) {}
  const float* w(int i) const { return pt[static_cast<size_t>(i)].values.data(); }

  const BertConfig& c;
  const BertParameterIndex& ix;
  const std::vector<ParameterTensor>& pt;
  const int64_t h;
  const float p_hidden;
  const int64_t token_index;
  const int64_t example_index;
};

// One example's attention rows for one head: `qlen` query rows from row
// `qoff` over `len` key rows from row `off`; its probabilities start at
// `base`.
struct HeadSpan {
  int64_t len, off, qlen, qoff, base;
};

// What both passes read of a layer's attention, and their loop over it.
struct AttentionSetup {
  AttentionSetup(const BertConfig& c, bool dropout, uint64_t step_seed, int layer)
      : h(c.hidden_size),
        heads(c.num_attention_heads),
        d(c.head_size()),
        scale(1.0f / std::sqrt(static_cast<float>(d))),
        p(dropout ? c.attention_probs_dropout_prob : 0.0f),
        seed(SiteSeed(step_seed, kSiteLayerBase + 4 * static_cast<uint64_t>(layer))) {}

  // fn(span, head) for every example and head of the shard, threaded over
  // the examples when the shard is large enough to pay for it.
  template <typename Shard, typename Activations, typename F>
  void ForEachHead(const Shard& s, const Activations& a, F fn) const {
    const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && s.batch > 1 &&
                          static_cast<int64_t>(s.tokens) * h >= 8192;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int b = 0; b < s.batch; ++b) {
      const int64_t len = s.ex_len[b];
      const int64_t off = s.ex_off[b];
      const int64_t qlen = a.cls_only ? 1 : len;
      const int64_t qoff = a.cls_only ? b : off;
      for (int n = 0; n < heads; ++n)
        fn(HeadSpan{len, off, qlen, qoff, a.att_off[b] + n * qlen * len}, n);
    }
  }

  const int64_t h;
  const int heads;
  const int64_t d;
  const float scale;
  const float p;
  const uint64_t seed;
};

}  // namespace

void BertTrainingModel::Forward(Shard& s) {
  const PassSetup ps(*params_, dropout_, s);
  const BertConfig& c = ps.c;
  const BertParameterIndex& ix = ps.ix;
  auto w = [&ps](int i) { return ps.w(i); };
  const int64_t t_count = s.tokens, h = ps.h, inter = c.intermediate_size;
  const float p_hidden = ps.p_hidden;
  const int64_t token_index = ps.token_index, example_index = ps.example_index;

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
  LayerActivations& a = s.layers[static_cast<size_t>(layer)];
  const AttentionSetup at(params_->config(), dropout_, step_seed_, layer);
  const int64_t h = at.h, d = at.d;
  Resize(&a.probs, a.att_off[static_cast<size_t>(s.batch)]);
  if (at.p > 0.0f) Resize(&a.probs_drop, a.att_off[static_cast<size_t>(s.batch)]);
  at.ForEachHead(s, a, [&](const HeadSpan& x, int n) {
    const int64_t len = x.len, qlen = x.qlen;
    float* probs = a.probs.data() + x.base;
    const float* q = a.q.data() + x.qoff * h + n * d;
    const float* k = a.k.data() + x.off * h + n * d;
    const float* v = a.v.data() + x.off * h + n * d;
    Gemm('N', 'T', qlen, len, d, at.scale, q, h, k, h, 0.0f, probs, len);
    SoftmaxRows(probs, static_cast<int>(qlen), static_cast<int>(len));
    const float* used = probs;
    if (at.p > 0.0f) {
      float* drop = a.probs_drop.data() + x.base;
      std::memcpy(drop, probs, static_cast<size_t>(qlen * len) * sizeof(float));
      Dropout(drop, qlen * len, at.seed, a.att_base + x.base, at.p);
      used = drop;
    }
    // ctx = probs V, row by row as sums of V rows (oneDNN is slow on these
    // tiny non-transposed products).
    for (int64_t i = 0; i < qlen; ++i) {
      float* out = a.ctx.data() + (x.qoff + i) * h + n * d;
      std::fill_n(out, d, 0.0f);
      for (int64_t j = 0; j < len; ++j) {
        const float pij = used[i * len + j];
        const float* vj = v + j * h;
        for (int64_t e = 0; e < d; ++e) out[e] += pij * vj[e];
      }
    }
  });
}

void BertTrainingModel::Backward(Shard& s, Gradients* grads) {
  const PassSetup ps(*params_, dropout_, s);
  const BertConfig& c = ps.c;
  const BertParameterIndex& ix = ps.ix;
  auto w = [&ps](int i) { return ps.w(i); };
  auto g = [&](int i) { return (*grads)[static_cast<size_t>(i)].data(); };
  const int64_t t_count = s.tokens, h = ps.h, inter = c.intermediate_size;
  const int64_t labels = params_->num_labels();
  const float p_hidden = ps.p_hidden;
  const int64_t token_index = ps.token_index, example_index = ps.example_index;

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
  LayerActivations& a = s.layers[static_cast<size_t>(layer)];
  const AttentionSetup at(params_->config(), dropout_, step_seed_, layer);
  const int64_t h = at.h, d = at.d;
  Resize(&s.dprobs, a.att_off[static_cast<size_t>(s.batch)]);
  at.ForEachHead(s, a, [&](const HeadSpan& x, int n) {
    const int64_t len = x.len, qlen = x.qlen;
    const float* probs = a.probs.data() + x.base;
    const float* used = at.p > 0.0f ? a.probs_drop.data() + x.base : probs;
    float* dp = s.dprobs.data() + x.base;
    const int64_t qcol = x.qoff * h + n * d;  // query-side rows
    const int64_t kcol = x.off * h + n * d;   // key/value rows
    // d(dropped probs) = dctx V^T; dV = dropped probs^T dctx.
    Gemm('N', 'T', qlen, len, d, 1.0f, s.dctx.data() + qcol, h, a.v.data() + kcol, h, 0.0f, dp,
         len);
    Gemm('T', 'N', len, d, qlen, 1.0f, used, len, s.dctx.data() + qcol, h, 0.0f, s.dv.data() + kcol,
         h);
    if (at.p > 0.0f) Dropout(dp, qlen * len, at.seed, a.att_base + x.base, at.p);
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
        const float sij = at.scale * dp[i * len + j];
        const float* kj = a.k.data() + kcol + j * h;
        for (int64_t e = 0; e < d; ++e) out[e] += sij * kj[e];
      }
    }
    Gemm('T', 'N', len, d, qlen, at.scale, dp, len, a.q.data() + qcol, h, 0.0f, s.dk.data() + kcol,
         h);
  });
}

}  // namespace chatbot::bert
