#include "bert/bert_parameters.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string_view>

#include "common/error.h"

namespace chatbot::bert {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// FNV-1a, so that each tensor's random stream depends on its name only.
uint64_t HashName(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Sum of squares in double with eight fixed partial sums: vectorised by the
// compiler, and the same summation order on every machine.
double SumSquares(const float* g, int64_t n) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(g[i + k]) * g[i + k];
  }
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  for (int k = 0; k < 8; ++k) s += acc[k];
  return s;
}

}  // namespace

int64_t ParameterTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

BertParameters::BertParameters(const BertConfig& config, int num_labels)
    : config_(config), num_labels_(num_labels) {
  config.Validate("BERT parameters");
  if (num_labels < 1) {
    throw ModelError("BERT parameters: the classifier needs at least one label, got " +
                     std::to_string(num_labels));
  }
  const int64_t h = config.hidden_size;
  const int64_t inter = config.intermediate_size;
  // Hugging Face's no-decay convention: biases and LayerNorm weights.
  auto linear = [&](const std::string& prefix, int64_t out, int64_t in, int* w, int* b) {
    *w = Add(prefix + ".weight", {out, in}, true, false);
    *b = Add(prefix + ".bias", {out}, false, false);
  };
  auto layer_norm = [&](const std::string& prefix, int* w, int* b) {
    *w = Add(prefix + ".weight", {h}, false, false);
    *b = Add(prefix + ".bias", {h}, false, false);
  };
  index_.word_emb = Add("embeddings.word_embeddings.weight", {config.vocab_size, h}, true, true);
  index_.pos_emb =
      Add("embeddings.position_embeddings.weight", {config.max_position_embeddings, h}, true, true);
  index_.type_emb =
      Add("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h}, true, true);
  layer_norm("embeddings.LayerNorm", &index_.emb_ln_w, &index_.emb_ln_b);
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    BertLayerParameterIndex li{};
    linear(p + "attention.self.query", h, h, &li.query_w, &li.query_b);
    linear(p + "attention.self.key", h, h, &li.key_w, &li.key_b);
    linear(p + "attention.self.value", h, h, &li.value_w, &li.value_b);
    linear(p + "attention.output.dense", h, h, &li.attn_out_w, &li.attn_out_b);
    layer_norm(p + "attention.output.LayerNorm", &li.attn_ln_w, &li.attn_ln_b);
    linear(p + "intermediate.dense", inter, h, &li.inter_w, &li.inter_b);
    linear(p + "output.dense", h, inter, &li.out_w, &li.out_b);
    layer_norm(p + "output.LayerNorm", &li.out_ln_w, &li.out_ln_b);
    index_.layers.push_back(li);
  }
  linear("pooler.dense", h, h, &index_.pooler_w, &index_.pooler_b);
  linear("classifier", num_labels, h, &index_.classifier_w, &index_.classifier_b);
}

int BertParameters::Add(std::string name, std::vector<int64_t> shape, bool weight_decay,
                        bool row_sparse) {
  ParameterTensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.values.assign(static_cast<size_t>(t.numel()), 0.0f);
  t.weight_decay = weight_decay;
  t.row_sparse = row_sparse;
  tensors_.push_back(std::move(t));
  return static_cast<int>(tensors_.size()) - 1;
}

void BertParameters::InitializeTensor(int i, uint64_t seed) {
  ParameterTensor& t = tensors_[static_cast<size_t>(i)];
  if (EndsWith(t.name, "LayerNorm.weight")) {
    std::fill(t.values.begin(), t.values.end(), 1.0f);
  } else if (EndsWith(t.name, ".bias")) {
    std::fill(t.values.begin(), t.values.end(), 0.0f);
  } else {
    // Each tensor has its own stream (seed and name), so a classifier
    // initialised fresh on top of a checkpoint equals the one Initialize
    // gives for the same seed.
    const uint64_t h = HashName(t.name);
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(h), static_cast<uint32_t>(h >> 32)};
    std::mt19937_64 rng(seq);
    std::normal_distribution<float> normal(0.0f, config_.initializer_range);
    for (float& v : t.values) v = normal(rng);
    if (i == index_.word_emb && config_.pad_token_id >= 0 &&
        config_.pad_token_id < config_.vocab_size) {
      const int64_t n = t.row_size();
      std::fill_n(t.values.begin() + config_.pad_token_id * n, n, 0.0f);
    }
  }
}

BertParameters BertParameters::Initialize(const BertConfig& config, int num_labels, uint64_t seed) {
  BertParameters p(config, num_labels);
  for (int i = 0; i < static_cast<int>(p.tensors_.size()); ++i) p.InitializeTensor(i, seed);
  p.classifier_fresh_ = true;
  return p;
}

BertParameters BertParameters::FromTensors(const BertConfig& config,
                                           const std::map<std::string, Tensor>& tensors,
                                           int num_labels, uint64_t seed) {
  BertParameters p(config, num_labels);
  auto find = [&](const std::string& name) -> const Tensor* {
    auto it = tensors.find(name);
    if (it == tensors.end()) it = tensors.find("bert." + name);
    return it == tensors.end() ? nullptr : &it->second;
  };
  const ParameterTensor& cw = p.tensors_[static_cast<size_t>(p.index_.classifier_w)];
  const ParameterTensor& cb = p.tensors_[static_cast<size_t>(p.index_.classifier_b)];
  const Tensor* w = find(cw.name);
  const Tensor* b = find(cb.name);
  const bool reuse_classifier = w != nullptr && b != nullptr && !w->is_integer && !b->is_integer &&
                                w->shape == cw.shape && b->shape == cb.shape;
  for (int i = 0; i < static_cast<int>(p.tensors_.size()); ++i) {
    ParameterTensor& t = p.tensors_[static_cast<size_t>(i)];
    const bool is_classifier = i == p.index_.classifier_w || i == p.index_.classifier_b;
    if (is_classifier && !reuse_classifier) {
      p.InitializeTensor(i, seed);
      continue;
    }
    const Tensor* src = find(t.name);
    if (src == nullptr) {
      throw ModelError("BERT checkpoint: tensor '" + t.name + "' is missing");
    }
    if (src->is_integer) {
      throw ModelError("BERT checkpoint: tensor '" + t.name + "' is an integer tensor");
    }
    if (src->shape != t.shape || src->values.size() != t.values.size()) {
      throw ModelError("BERT checkpoint: tensor '" + t.name + "' has shape " +
                       ShapeString(src->shape) + ", the config needs " + ShapeString(t.shape));
    }
    for (size_t k = 0; k < src->values.size(); ++k) {
      if (!std::isfinite(src->values[k])) {
        throw ModelError("BERT checkpoint: tensor '" + t.name + "' has a non-finite value at " +
                         std::to_string(k));
      }
    }
    t.values = src->values;
  }
  p.classifier_fresh_ = !reuse_classifier;
  return p;
}

std::map<std::string, Tensor> BertParameters::ToTensors() const {
  std::map<std::string, Tensor> out;
  for (const ParameterTensor& t : tensors_) {
    Tensor x;
    x.shape = t.shape;
    x.values = t.values;
    out.emplace(t.name, std::move(x));
  }
  return out;
}

int BertParameters::IndexOf(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const ParameterTensor& BertParameters::Get(const std::string& name) const {
  const int i = IndexOf(name);
  if (i < 0) throw ModelError("BERT parameters: no parameter named '" + name + "'");
  return tensors_[static_cast<size_t>(i)];
}

ParameterTensor& BertParameters::Get(const std::string& name) {
  const int i = IndexOf(name);
  if (i < 0) throw ModelError("BERT parameters: no parameter named '" + name + "'");
  return tensors_[static_cast<size_t>(i)];
}

int64_t BertParameters::NumElements() const {
  int64_t n = 0;
  for (const ParameterTensor& t : tensors_) n += t.numel();
  return n;
}

Gradients::Gradients(const BertParameters& params) {
  const auto& ts = params.tensors();
  grads_.resize(ts.size());
  row_size_.resize(ts.size(), 0);
  touched_.resize(ts.size());
  is_touched_.resize(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    grads_[i].assign(ts[i].values.size(), 0.0f);
    if (ts[i].row_sparse) {
      row_size_[i] = ts[i].row_size();
      is_touched_[i].assign(static_cast<size_t>(ts[i].rows()), 0);
    }
  }
}

void Gradients::AddToRow(size_t i, int64_t row, const float* src) {
  const int64_t n = row_size_[i];
  if (n == 0) throw ModelError("Gradients::AddToRow: parameter " + std::to_string(i) + " is dense");
  float* dst = grads_[i].data() + row * n;
  for (int64_t k = 0; k < n; ++k) dst[k] += src[k];
  if (!is_touched_[i][static_cast<size_t>(row)]) {
    is_touched_[i][static_cast<size_t>(row)] = 1;
    touched_[i].push_back(static_cast<int32_t>(row));
  }
}

void Gradients::Zero() {
  for (size_t i = 0; i < grads_.size(); ++i) {
    if (row_size_[i] > 0) {
      for (int32_t r : touched_[i]) {
        std::memset(grads_[i].data() + r * row_size_[i], 0,
                    static_cast<size_t>(row_size_[i]) * sizeof(float));
        is_touched_[i][static_cast<size_t>(r)] = 0;
      }
      touched_[i].clear();
    } else {
      std::fill(grads_[i].begin(), grads_[i].end(), 0.0f);
    }
  }
}

void Gradients::Scale(float factor) {
  for (size_t i = 0; i < grads_.size(); ++i) {
    if (row_size_[i] > 0) {
      for (int32_t r : touched_[i]) {
        float* g = grads_[i].data() + r * row_size_[i];
        for (int64_t k = 0; k < row_size_[i]; ++k) g[k] *= factor;
      }
    } else {
      for (float& g : grads_[i]) g *= factor;
    }
  }
}

double Gradients::SquaredNorm() const {
  // Per tensor in parameter order; row-sparse tensors by ascending row, so the
  // sum does not depend on the order in which rows were touched.
  double total = 0;
  for (size_t i = 0; i < grads_.size(); ++i) {
    if (row_size_[i] > 0) {
      const int64_t n = row_size_[i];
      for (size_t r = 0; r < is_touched_[i].size(); ++r) {
        if (is_touched_[i][r])
          total += SumSquares(grads_[i].data() + static_cast<int64_t>(r) * n, n);
      }
    } else {
      total += SumSquares(grads_[i].data(), static_cast<int64_t>(grads_[i].size()));
    }
  }
  return total;
}

}  // namespace chatbot::bert
