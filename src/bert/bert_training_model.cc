// BertTrainingModel (bert_training_model.h): running a batch (checks,
// packing the real tokens into slices, threads, gradients summed in slice
// order) and the loss; the passes themselves are in
// bert_training_passes.cc.
#include "bert/bert_training_model.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "bert/bert_kernels.h"
#include "bert/parallel_slices.h"
#include "bert/training_kernels.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using training::Resize;

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

}  // namespace chatbot::bert
