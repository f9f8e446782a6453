// The BERT encoder's forward pass for inference, as Hugging Face's
// BertForSequenceClassification computes it in evaluation mode (dropout
// off): embeddings (word + position + token type) and LayerNorm; per layer
// self-attention with an additive padding mask, output projection, residual
// and LayerNorm, feed-forward with the exact GELU, residual and LayerNorm;
// the pooler (dense + tanh on [CLS]) and the classifier on the pooled output.
//
// The linear layers run on a ComputeBackend (compute_backend.h), prepared
// once at construction: query, key and value are one fused projection, GELU
// and the residual sums are fused into their products. Attention, LayerNorm
// and the embeddings are bert_kernels.h loops. Padding costs nothing beyond
// the products when last_hidden_state is not wanted: only the real tokens are
// computed, packed together (their results do not depend on padding).
//
// Forward is const and thread-safe; each thread keeps its scratch buffers
// (grown to the largest batch seen), so a warm thread allocates only the
// outputs' growth. On the CPU backend the products use the calling thread's
// OpenMP threads: see compute_backend.h.
#ifndef CHATBOT_BERT_BERT_ENCODER_H_
#define CHATBOT_BERT_BERT_ENCODER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bert/bert_config.h"
#include "bert/compute_backend.h"
#include "bert/safetensors.h"

namespace chatbot::bert {

// A batch of token sequences, row-major [batch, seq_len], padded to seq_len.
struct EncoderBatch {
  int batch = 0;
  int seq_len = 0;
  std::vector<int32_t> input_ids;
  // Empty means all zeros.
  std::vector<int32_t> token_type_ids;
  // 1 for a real token, 0 for padding; empty means all ones.
  std::vector<int32_t> attention_mask;
};

// Row-major float arrays; a part that was not asked for is left empty.
struct EncoderOutput {
  int batch = 0;
  int seq_len = 0;
  int hidden = 0;
  int num_labels = 0;
  std::vector<float> last_hidden_state;  // [batch, seq_len, hidden]
  std::vector<float> pooler_output;      // [batch, hidden]: tanh(dense(h[CLS]))
  std::vector<float> mean_pooled;        // [batch, hidden]: mean of h over real tokens
  std::vector<float> logits;             // [batch, num_labels]: classifier(pooler_output)
};

struct EncoderOptions {
  // Also computes the padding positions, as Hugging Face does; off, only the
  // real tokens are computed.
  bool want_last_hidden = false;
  bool want_pooler = false;
  bool want_mean = true;
  // Needs the classifier; ignored (logits empty) without one.
  bool want_logits = true;
};

class BertEncoder {
 public:
  // `tensors` are named as inside BertForSequenceClassification without the
  // "bert." prefix ("embeddings.word_embeddings.weight", "encoder.layer.0.
  // attention.self.query.weight", "pooler.dense.weight", "classifier.weight").
  // The pooler and the classifier are optional (a BertModel checkpoint saved
  // without them). Other tensors are ignored. Throws ModelError naming
  // `source` and the tensor when one is missing, integer-typed, mis-shaped or
  // not finite, or the config is invalid; ConfigError when the backend does
  // not support the precision.
  BertEncoder(const BertConfig& config, const std::map<std::string, Tensor>& tensors,
              std::shared_ptr<const ComputeBackend> backend, Precision precision = Precision::kF32,
              const std::string& source = "model");
  ~BertEncoder();

  BertEncoder(const BertEncoder&) = delete;
  BertEncoder& operator=(const BertEncoder&) = delete;

  const BertConfig& config() const { return config_; }
  Precision precision() const { return precision_; }
  bool has_pooler() const { return has_pooler_; }
  int num_labels() const { return num_labels_; }  // 0 without a classifier

  // Throws DataError on an inconsistent batch (sizes, a token or type id out
  // of range, seq_len above max_position_embeddings) naming the sequence and
  // position, and ModelError when the pooler is wanted but absent. Every
  // sequence should have a real token at position 0 ([CLS]); the pooler reads
  // position 0 whatever it is, as Hugging Face does.
  void Forward(const EncoderBatch& batch, EncoderOutput* output,
               const EncoderOptions& options = {}) const;

 private:
  struct Layer;
  struct Scratch;

  void Validate(const EncoderBatch& batch) const;
  void Attention(const float* qkv, int rows_begin, int rows, const int* keys, int num_keys,
                 float* context, Scratch& scratch) const;

  BertConfig config_;
  Precision precision_;
  std::shared_ptr<const ComputeBackend> backend_;
  std::vector<float> word_embeddings_;      // [vocab, hidden]
  std::vector<float> position_embeddings_;  // [max_positions, hidden]
  std::vector<float> type_embeddings_;      // [type_vocab, hidden]
  std::vector<float> embedding_ln_gamma_, embedding_ln_beta_;
  std::vector<Layer> layers_;
  bool has_pooler_ = false;
  std::unique_ptr<LinearLayer> pooler_;
  int num_labels_ = 0;
  std::unique_ptr<LinearLayer> classifier_;
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_ENCODER_H_
