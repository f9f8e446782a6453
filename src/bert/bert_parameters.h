// The trainable parameters of a BERT sequence classifier, and their gradients.
//
// Training needs every parameter as a plain, mutable float array that the
// forward/backward pass reads and the optimiser updates in place, plus a
// gradient buffer of the same shape. BertParameters is that flat list, in a
// fixed order, each tensor named as Hugging Face names it inside
// BertForSequenceClassification without the "bert." prefix
// ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
// "pooler.dense.bias", "classifier.weight"; Linear weights are [out, in]
// row-major). Exporting gives the same names back, so a trained model is
// saved with WriteSafeTensors or handed to the inference encoder unchanged.
//
// Gradients keeps one buffer per parameter. The embedding tables are large
// (vocab x hidden) while a batch touches a few hundred rows, so their
// gradients are row-sparse: the backward pass records the rows it writes and
// Zero() clears only those. Invariant: a row of a row-sparse parameter that
// is not listed in touched_rows() is all zeros.
#ifndef CHATBOT_BERT_BERT_PARAMETERS_H_
#define CHATBOT_BERT_BERT_PARAMETERS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bert/bert_config.h"
#include "bert/safetensors.h"

namespace chatbot::bert {

struct ParameterTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  // AdamW weight decay applies (Hugging Face's convention: not on biases and
  // LayerNorm weights).
  bool weight_decay = true;
  // Gradients are written row by row (embedding tables; see Gradients).
  bool row_sparse = false;

  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t row_size() const { return shape.empty() ? 1 : numel() / shape[0]; }
  int64_t numel() const;
};

// Indices into BertParameters::tensors() of one encoder layer's parameters.
struct BertLayerParameterIndex {
  int query_w, query_b, key_w, key_b, value_w, value_b;
  int attn_out_w, attn_out_b, attn_ln_w, attn_ln_b;
  int inter_w, inter_b, out_w, out_b, out_ln_w, out_ln_b;
};

struct BertParameterIndex {
  int word_emb, pos_emb, type_emb, emb_ln_w, emb_ln_b;
  std::vector<BertLayerParameterIndex> layers;
  int pooler_w, pooler_b, classifier_w, classifier_b;
};

class BertParameters {
 public:
  // Initialised as Hugging Face's BertPreTrainedModel._init_weights does:
  // Linear and Embedding weights ~ normal(0, initializer_range), biases 0,
  // LayerNorm weight 1 and bias 0, the padding row of the word embeddings 0.
  // Deterministic for a seed (std::mt19937_64, tensors in list order).
  // Throws ModelError when the config is invalid or num_labels < 1.
  static BertParameters Initialize(const BertConfig& config, int num_labels, uint64_t seed);

  // Takes the encoder (and, when present, the classification head) from a
  // checkpoint's tensors, named with or without the "bert." prefix. A
  // missing classifier, or one whose shape does not fit num_labels (another
  // label set), is initialised fresh from `seed` as Initialize would; see
  // classifier_initialized_fresh(). Unknown tensors (such as
  // "embeddings.position_ids") are ignored. Throws ModelError naming the
  // tensor when an encoder tensor is missing, not floating-point, or has the
  // wrong shape, or when a value is not finite.
  static BertParameters FromTensors(const BertConfig& config,
                                    const std::map<std::string, Tensor>& tensors, int num_labels,
                                    uint64_t seed);

  // Every parameter under its canonical name (no "bert." prefix).
  std::map<std::string, Tensor> ToTensors() const;

  const BertConfig& config() const { return config_; }
  int num_labels() const { return num_labels_; }
  bool classifier_initialized_fresh() const { return classifier_fresh_; }

  const std::vector<ParameterTensor>& tensors() const { return tensors_; }
  std::vector<ParameterTensor>& mutable_tensors() { return tensors_; }
  const BertParameterIndex& index() const { return index_; }
  // Throws ModelError when there is no parameter of that name.
  const ParameterTensor& Get(const std::string& name) const;
  ParameterTensor& Get(const std::string& name);
  int IndexOf(const std::string& name) const;  // -1 when absent

  int64_t NumElements() const;

 private:
  BertParameters(const BertConfig& config, int num_labels);
  int Add(std::string name, std::vector<int64_t> shape, bool weight_decay, bool row_sparse);
  void InitializeTensor(int i, uint64_t seed);

  BertConfig config_;
  int num_labels_ = 0;
  bool classifier_fresh_ = false;
  std::vector<ParameterTensor> tensors_;
  BertParameterIndex index_{};
};

// One gradient buffer per parameter, same order and sizes.
class Gradients {
 public:
  explicit Gradients(const BertParameters& params);

  size_t size() const { return grads_.size(); }
  std::vector<float>& operator[](size_t i) { return grads_[i]; }
  const std::vector<float>& operator[](size_t i) const { return grads_[i]; }

  bool row_sparse(size_t i) const { return row_size_[i] > 0; }
  int64_t row_size(size_t i) const { return row_size_[i]; }
  // The rows of a row-sparse parameter that may be non-zero, in the order
  // first written.
  const std::vector<int32_t>& touched_rows(size_t i) const { return touched_[i]; }
  // Adds `src` (row_size floats) to row `row` of parameter i and records it.
  void AddToRow(size_t i, int64_t row, const float* src);

  // Sets every gradient to zero (row-sparse ones: only the touched rows).
  void Zero();
  // Multiplies every gradient by `factor`.
  void Scale(float factor);
  // Sum of squares of every gradient, accumulated in double in a fixed order.
  double SquaredNorm() const;

 private:
  std::vector<std::vector<float>> grads_;
  std::vector<int64_t> row_size_;  // 0 for dense parameters
  std::vector<std::vector<int32_t>> touched_;
  std::vector<std::vector<uint8_t>> is_touched_;
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_PARAMETERS_H_
