#include "use/use_encoder.h"

#include <algorithm>
#include <cmath>

#include "bert/bert_kernels.h"
#include "common/error.h"

namespace chatbot::use {
namespace {

constexpr int kInputWidth = 256;
constexpr int kTimescales = 128;
constexpr int kHeads = 4;
constexpr int kInner = 1536;
constexpr float kLayerNormEpsilon = 1e-6f;
constexpr float kL2Epsilon = 1e-12f;

const bert::Tensor& Checked(const std::map<std::string, bert::Tensor>& weights,
                            const std::string& where, const std::string& name,
                            const std::vector<int64_t>& shape) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw ModelError(where + ": no tensor " + name);
  const bert::Tensor& tensor = it->second;
  if (tensor.is_integer || tensor.shape != shape) {
    std::string want;
    for (const int64_t d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    throw ModelError(where + ": tensor " + name + " should be float32 [" + want + "]");
  }
  return tensor;
}

}  // namespace

struct UseEncoder::Layer {
  int in = 0;     // the layer's input width
  int width = 0;  // attention width (= in)
  float query_scale = 1;
  std::vector<float> attention_norm_scale, attention_norm_bias;
  std::vector<float> ffn_norm_scale, ffn_norm_bias;
  std::unique_ptr<bert::LinearLayer> qkv, output, residual, ffn_inner, ffn_outer;
};

const std::vector<UseEncoder::TensorSpec>& UseEncoder::TensorSpecs() {
  static const std::vector<TensorSpec> specs = [] {
    std::vector<TensorSpec> s = {{"embeddings", {-1, kInputWidth}},
                                 {"timing.inv_timescales", {kTimescales}},
                                 {"pooler.weight", {kEmbeddingSize, kEmbeddingSize}},
                                 {"pooler.bias", {kEmbeddingSize}}};
    for (int l = 0; l < 2; ++l) {
      const int in = l == 0 ? kInputWidth : kEmbeddingSize;
      const std::string p = "layer_" + std::to_string(l) + ".";
      s.push_back({p + "attention.norm.scale", {in}});
      s.push_back({p + "attention.norm.bias", {in}});
      s.push_back({p + "attention.qkv.weight", {3 * in, in}});
      s.push_back({p + "attention.qkv.bias", {3 * in}});
      s.push_back({p + "attention.query_scale", {1}});
      s.push_back({p + "attention.output.weight", {kEmbeddingSize, in}});
      s.push_back({p + "attention.output.bias", {kEmbeddingSize}});
      if (in != kEmbeddingSize) {
        s.push_back({p + "residual.weight", {kEmbeddingSize, in}});
        s.push_back({p + "residual.bias", {kEmbeddingSize}});
      }
      s.push_back({p + "ffn.norm.scale", {kEmbeddingSize}});
      s.push_back({p + "ffn.norm.bias", {kEmbeddingSize}});
      s.push_back({p + "ffn.inner.weight", {kInner, kEmbeddingSize}});
      s.push_back({p + "ffn.inner.bias", {kInner}});
      s.push_back({p + "ffn.outer.weight", {kEmbeddingSize, kInner}});
      s.push_back({p + "ffn.outer.bias", {kEmbeddingSize}});
    }
    return s;
  }();
  return specs;
}

UseEncoder::UseEncoder(const std::map<std::string, bert::Tensor>& weights, const std::string& where,
                       std::vector<VocabularyPiece> vocabulary,
                       std::shared_ptr<const bert::ComputeBackend> backend,
                       bert::Precision precision)
    : tokenizer_(std::move(vocabulary)), backend_(std::move(backend)) {
  if (backend_ == nullptr) backend_ = bert::DefaultComputeBackend();
  const auto found = weights.find("embeddings");
  if (found == weights.end()) throw ModelError(where + ": no tensor embeddings");
  const bert::Tensor& embeddings = found->second;
  if (embeddings.shape.size() != 2 || embeddings.shape[1] != kInputWidth ||
      embeddings.shape[0] < static_cast<int64_t>(tokenizer_.pieces().size())) {
    throw ModelError(where + ": tensor embeddings should be [rows >= vocabulary size, 256]");
  }
  vocab_rows_ = static_cast<int>(embeddings.shape[0]);
  embeddings_ = embeddings.values;
  inv_timescales_ = Checked(weights, where, "timing.inv_timescales", {kTimescales}).values;
  auto linear = [&](const std::string& name, int out, int in, bert::Epilogue epilogue) {
    const auto& w = Checked(weights, where, name + ".weight", {out, in});
    const auto& b = Checked(weights, where, name + ".bias", {out});
    return backend_->PrepareLinear(w.values.data(), b.values.data(), out, in, precision, epilogue);
  };
  for (int l = 0; l < 2; ++l) {
    auto layer = std::make_unique<Layer>();
    layer->in = l == 0 ? kInputWidth : kEmbeddingSize;
    layer->width = layer->in;
    const int in = layer->in;
    const std::string p = "layer_" + std::to_string(l) + ".";
    layer->attention_norm_scale = Checked(weights, where, p + "attention.norm.scale", {in}).values;
    layer->attention_norm_bias = Checked(weights, where, p + "attention.norm.bias", {in}).values;
    layer->query_scale = Checked(weights, where, p + "attention.query_scale", {1}).values[0];
    layer->qkv = linear(p + "attention.qkv", 3 * in, in, bert::Epilogue::kNone);
    layer->output = linear(p + "attention.output", kEmbeddingSize, in, bert::Epilogue::kAccumulate);
    if (in != kEmbeddingSize) {
      layer->residual = linear(p + "residual", kEmbeddingSize, in, bert::Epilogue::kNone);
    }
    layer->ffn_norm_scale = Checked(weights, where, p + "ffn.norm.scale", {kEmbeddingSize}).values;
    layer->ffn_norm_bias = Checked(weights, where, p + "ffn.norm.bias", {kEmbeddingSize}).values;
    layer->ffn_inner = linear(p + "ffn.inner", kInner, kEmbeddingSize, bert::Epilogue::kNone);
    layer->ffn_outer = linear(p + "ffn.outer", kEmbeddingSize, kInner, bert::Epilogue::kAccumulate);
    layers_.push_back(std::move(layer));
  }
  pooler_ = linear("pooler", kEmbeddingSize, kEmbeddingSize, bert::Epilogue::kNone);
}

UseEncoder::~UseEncoder() = default;

std::vector<float> UseEncoder::Encode(std::string_view text) const {
  const std::vector<std::vector<int>> ids = {tokenizer_.Encode(text)};
  return EncodeIds(ids);
}

std::vector<float> UseEncoder::EncodeBatch(std::span<const std::string> texts) const {
  std::vector<std::vector<int>> ids;
  ids.reserve(texts.size());
  for (const auto& text : texts) ids.push_back(tokenizer_.Encode(text));
  return EncodeIds(ids);
}

std::vector<float> UseEncoder::EncodeIds(std::span<const std::vector<int>> ids) const {
  const int batch = static_cast<int>(ids.size());
  // Packed rows: sentence s owns rows [offsets[s], offsets[s + 1]).
  std::vector<int> offsets(static_cast<size_t>(batch) + 1, 0);
  for (int s = 0; s < batch; ++s) {
    const int tokens = std::min(static_cast<int>(ids[static_cast<size_t>(s)].size()), kMaxTokens);
    offsets[static_cast<size_t>(s) + 1] = offsets[static_cast<size_t>(s)] + tokens;
  }
  const int rows = offsets.back();

  thread_local std::vector<float> x, y, normed, qkv, context, scores, inner;
  x.assign(static_cast<size_t>(rows) * kInputWidth, 0.0f);
  for (int s = 0; s < batch; ++s) {
    const auto& sentence = ids[static_cast<size_t>(s)];
    for (int t = 0; t < offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)];
         ++t) {
      const int id = sentence[static_cast<size_t>(t)];
      if (id < 0 || id >= vocab_rows_) {
        throw ModelError("token id " + std::to_string(id) + " is outside the embeddings (" +
                         std::to_string(vocab_rows_) + " rows)");
      }
      float* row =
          x.data() + static_cast<size_t>(offsets[static_cast<size_t>(s)] + t) * kInputWidth;
      const float* e = embeddings_.data() + static_cast<size_t>(id) * kInputWidth;
      const float position = static_cast<float>(t);
      for (int k = 0; k < kTimescales; ++k) {
        const float angle = position * inv_timescales_[static_cast<size_t>(k)];
        row[k] = (e[k] + e[k]) + std::sin(angle);
        row[k + kTimescales] = (e[k + kTimescales] + e[k + kTimescales]) + std::cos(angle);
      }
    }
  }

  y.assign(static_cast<size_t>(rows) * kEmbeddingSize, 0.0f);
  for (const auto& layer : layers_) {
    const int in = layer->in;
    const float* layer_input = layer->residual ? x.data() : y.data();
    // The residual branch goes to y first; attention's output accumulates.
    if (layer->residual) layer->residual->Forward(x.data(), rows, y.data());
    normed.resize(static_cast<size_t>(rows) * in);
    bert::LayerNorm(layer_input, layer->attention_norm_scale.data(),
                    layer->attention_norm_bias.data(), rows, in, kLayerNormEpsilon, normed.data(),
                    nullptr, nullptr);
    qkv.resize(static_cast<size_t>(rows) * 3 * in);
    layer->qkv->Forward(normed.data(), rows, qkv.data());
    context.assign(static_cast<size_t>(rows) * in, 0.0f);
    const int head = in / kHeads;
    const int stride = 3 * in;
    for (int s = 0; s < batch; ++s) {
      const int begin = offsets[static_cast<size_t>(s)];
      const int t = offsets[static_cast<size_t>(s) + 1] - begin;
      if (t == 0) continue;
      scores.resize(static_cast<size_t>(t) * t);
      for (int h = 0; h < kHeads; ++h) {
        const float* q = qkv.data() + static_cast<size_t>(begin) * stride + h * head;
        const float* k = q + in;
        const float* v = q + 2 * in;
        backend_->Gemm(false, true, t, t, head, layer->query_scale, q, stride, k, stride, 0.0f,
                       scores.data(), t);
        bert::SoftmaxRows(scores.data(), t, t);
        backend_->Gemm(false, false, t, head, t, 1.0f, scores.data(), t, v, stride, 0.0f,
                       context.data() + static_cast<size_t>(begin) * in + h * head, in);
      }
    }
    layer->output->Forward(context.data(), rows, y.data());

    normed.resize(static_cast<size_t>(rows) * kEmbeddingSize);
    bert::LayerNorm(y.data(), layer->ffn_norm_scale.data(), layer->ffn_norm_bias.data(), rows,
                    kEmbeddingSize, kLayerNormEpsilon, normed.data(), nullptr, nullptr);
    inner.resize(static_cast<size_t>(rows) * kInner);
    layer->ffn_inner->Forward(normed.data(), rows, inner.data());
    for (float& value : inner) value = std::max(value, 0.0f);
    layer->ffn_outer->Forward(inner.data(), rows, y.data());
  }

  std::vector<float> pooled(static_cast<size_t>(batch) * kEmbeddingSize, 0.0f);
  for (int s = 0; s < batch; ++s) {
    const int begin = offsets[static_cast<size_t>(s)];
    const int t = offsets[static_cast<size_t>(s) + 1] - begin;
    float* out = pooled.data() + static_cast<size_t>(s) * kEmbeddingSize;
    for (int r = begin; r < begin + t; ++r) {
      const float* row = y.data() + static_cast<size_t>(r) * kEmbeddingSize;
      for (int c = 0; c < kEmbeddingSize; ++c) out[c] += row[c];
    }
    const float count = static_cast<float>(std::max(t, 1));
    for (int c = 0; c < kEmbeddingSize; ++c) out[c] /= count;
  }
  std::vector<float> embeddings(pooled.size());
  pooler_->Forward(pooled.data(), batch, embeddings.data());
  bert::Tanh(embeddings.data(), static_cast<int64_t>(embeddings.size()), embeddings.data());
  for (int s = 0; s < batch; ++s) {
    float* row = embeddings.data() + static_cast<size_t>(s) * kEmbeddingSize;
    float sum = 0;
    for (int c = 0; c < kEmbeddingSize; ++c) sum += row[c] * row[c];
    const float scale = 1.0f / std::sqrt(std::max(sum, kL2Epsilon));
    for (int c = 0; c < kEmbeddingSize; ++c) row[c] *= scale;
  }
  return embeddings;
}

}  // namespace chatbot::use
