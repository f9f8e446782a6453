// Forward and backward pass of BertForSequenceClassification, for training.
//
// The inference encoder (bert_encoder.h) keeps no activations; training needs
// every intermediate value of the forward pass to differentiate it, so this
// class runs its own forward pass that keeps them in a reusable workspace,
// then backpropagates the mean cross-entropy through the classifier, the
// pooler, every encoder layer and the embeddings, accumulating the gradient
// of every parameter.
//
// Matches Hugging Face (PyTorch) BertForSequenceClassification:
//  - embeddings: LayerNorm(word + position + token type), then dropout;
//  - each layer: self-attention softmax(QK^T / sqrt(d)) with dropout on the
//    probabilities, output dense, dropout, residual, LayerNorm; FFN with
//    exact (erf) GELU, dense, dropout, residual, LayerNorm;
//  - head: logits = classifier(dropout(tanh(pooler_dense(h[CLS])))), or
//    (ClassifierHead::kMeanPooling, not Hugging Face's) classifier(dropout(
//    masked mean of the last hidden states)), which trains better from scratch;
//  - dropout is inverted (kept values scaled by 1 / (1 - p)); the padding row
//    of the word embeddings gets no gradient (nn.Embedding padding_idx).
//
// Padding costs nothing: tokens whose attention mask is 0 are never attended
// to and never reach the loss, so they are dropped before the first layer and
// the examples' real tokens are packed into one [tokens, hidden] matrix. The
// dense layers are then one oneDNN GEMM over the whole batch, attention runs
// per example (threaded over examples with OpenMP), and the loss and every
// gradient equal Hugging Face's for the padded batch. Likewise, under the
// pooler head the last layer computes queries, attention output and FFN for
// the [CLS] rows only (just the key and value projections still run on every
// token), since no other row of it reaches the loss.
//
// Threads: with N threads the batch is split into min(N, B / 4) contiguous
// slices of about equal token count; each thread (parallel_slices.h) runs
// the whole forward and backward pass of its slice with single-threaded
// GEMMs, and the slices' gradients are summed in slice order. That is one
// join per step instead of a synchronisation per operation, so a second
// thread pays off even for these small matrices; on a machine whose cores
// are busy with other work it costs 5-20% more CPU time, where OpenMP's
// spinning barriers made a step several times slower. A batch too small
// to split runs as one slice whose GEMMs and row loops use OpenMP threads
// instead.
//
// The batch, its slices and the loss are in bert_training_model.cc; the
// passes in bert_training_passes.cc; their numeric steps in
// training_kernels.h.
//
// Determinism: dropout masks come from a counter-based hash of one 64-bit
// draw from the caller's generator per step and of each element's position
// in the batch, and every reduction runs in a fixed order, so results depend
// on the seed, the batch and the number of threads only (the split changes
// the summation order of the gradients, at the level of float rounding).
#ifndef CHATBOT_BERT_BERT_TRAINING_MODEL_H_
#define CHATBOT_BERT_BERT_TRAINING_MODEL_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "bert/bert_parameters.h"

namespace chatbot::bert {

using Rng = std::mt19937_64;

// A padded batch, row-major [batch_size, seq_len] like Hugging Face's inputs.
struct TrainingBatch {
  int batch_size = 0;
  int seq_len = 0;
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;  // empty: all 0
  std::vector<int32_t> attention_mask;  // empty: all 1; position 0 ([CLS]) must be 1
  std::vector<int32_t> labels;          // [batch_size]; may be empty for prediction only
};

enum class ClassifierHead {
  kPooler,       // Hugging Face's BertForSequenceClassification (default)
  kMeanPooling,  // masked mean of the last hidden states; the pooler is unused
};

struct TrainingModelOptions {
  ClassifierHead head = ClassifierHead::kPooler;
  // Threads for this model's passes: 0 keeps the OpenMP default
  // (OMP_NUM_THREADS, else one per core); otherwise each pass calls
  // omp_set_num_threads(num_threads), which lasts on the calling thread (so
  // AdamW::Step there uses as many).
  int num_threads = 0;
};

// Not thread-safe: one instance per training thread (it owns the workspace).
class BertTrainingModel {
 public:
  // `params` must outlive the model; the model reads its current values on
  // every pass (the optimiser updates them in between).
  explicit BertTrainingModel(const BertParameters* params, TrainingModelOptions options = {});

  // Runs the forward pass (dropout on when `train`, drawing one number from
  // `rng`; `rng` is untouched otherwise), returns the mean cross-entropy of
  // the logits against batch.labels, and, when `grads` is not null, adds the
  // gradient of that loss for every parameter to `grads` (call grads->Zero()
  // first unless accumulating). `logits` (nullable) receives
  // [batch_size, num_labels]. Throws DataError naming the example and field
  // when the batch is malformed (ids out of range, sequence longer than
  // max_position_embeddings, a label out of range, labels missing).
  float ForwardBackward(const TrainingBatch& batch, bool train, Rng& rng, Gradients* grads,
                        std::vector<float>* logits = nullptr);

  // Logits [batch_size, num_labels] with dropout off; labels are not needed.
  void Predict(const TrainingBatch& batch, std::vector<float>* logits);

  const TrainingModelOptions& options() const { return options_; }

 private:
  struct LayerActivations {
    // Under the pooler head the last layer computes only the [CLS] rows (the
    // only ones the loss depends on): keys and values for every token,
    // queries and everything after attention for `rows` = batch rows.
    bool cls_only = false;
    int64_t rows = 0;              // T, or B when cls_only
    std::vector<int64_t> att_off;  // example b's probabilities, heads x queries x keys
    int64_t att_base = 0;          // the shard's first probability within the batch
    std::vector<float> xq;         // cls_only: the input's [CLS] rows
    std::vector<float> q;          // [rows, H]
    std::vector<float> k, v;       // [T, H]
    std::vector<float> probs, probs_drop;
    std::vector<float> ctx;                   // [rows, H]
    std::vector<float> z1, mean1, rstd1, y1;  // attention residual sum, LayerNorm
    std::vector<float> f, g;                  // FFN pre-activation and GELU, [rows, I]
    std::vector<float> z2, mean2, rstd2;
  };

  // A contiguous slice of the batch's examples and everything one thread
  // needs to run it: the packed tokens, the activations and the backward
  // scratch. Dropout masks are indexed by position in the whole batch, so a
  // pass gives the same masks however the batch is split.
  struct Shard {
    int ex_begin = 0;        // first example of the slice within the batch
    int batch = 0;           // examples
    int tokens = 0;          // real (unmasked) tokens
    int64_t token_base = 0;  // tokens of the batch before the slice
    std::vector<int> ex_off, ex_len;
    std::vector<int32_t> ids, pos, types, labels;

    std::vector<float> emb_sum, emb_mean, emb_rstd;
    std::vector<std::vector<float>> hidden;  // L + 1 entries of [rows, H]
    std::vector<LayerActivations> layers;
    std::vector<float> pooled;       // [B, H]: tanh(pooler) or the mean, before dropout
    std::vector<float> pooled_drop;  // [B, H]
    std::vector<float> logits;       // [B, C]
    std::vector<float> dlogits;      // [B, C]
    double loss_sum = 0;

    std::vector<float> dh, dres, dtmp, dctx, dq, dk, dv, dff, dprobs, dpooled, dpre;
    std::unique_ptr<Gradients> own_grads;  // shards after the first, when threaded
  };

  float Run(const TrainingBatch& batch, bool train, Rng* rng, Gradients* grads,
            std::vector<float>* logits);
  void Pack(const TrainingBatch& batch, bool need_labels);
  void RunShard(Shard& s, Gradients* grads, bool need_loss);
  void Forward(Shard& s);
  void Loss(Shard& s, bool compute_grad);
  void Backward(Shard& s, Gradients* grads);
  void AttentionForward(Shard& s, int layer);
  void AttentionBackward(Shard& s, int layer);

  const BertParameters* params_;
  TrainingModelOptions options_;

  int batch_ = 0;  // examples in the current batch
  uint64_t step_seed_ = 0;
  bool dropout_ = false;
  std::vector<Shard> shards_;
  int active_shards_ = 0;
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_TRAINING_MODEL_H_
