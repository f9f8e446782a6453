// The Universal Sentence Encoder Lite network, natively on the compute
// backend (bert/compute_backend.h): token ids in, one L2-normalised 512-float
// sentence embedding out, as the package's TensorFlow.js graph computes it
// (docs/use-encoder.md gives the graph's operations one by one).
//
// For a sentence of T tokens (the first kMaxTokens; later ones are dropped,
// as the graph's ClipToMaxLength does):
//   x   = 2 * E[id] + timing(t)            [T, 256]: the graph adds the
//         scattered embeddings to a copy that already holds them, hence 2x;
//         timing(t) = [sin(t * inv), cos(t * inv)] with the graph's 128 inv
//   two pre-norm transformer layers, LayerNorm eps 1e-6, 4 heads, ReLU FFN:
//     layer 0: attention on LN(x) (width 256, heads of 64) projected to 512,
//              plus the residual projected by a dense layer (256 -> 512)
//     layer 1: attention on LN(y) (width 512, heads of 128) plus y
//     each:    y += W2 relu(W1 LN(y) + b1) + b2   (512 -> 1536 -> 512)
//   pooled = mean of y over the T tokens (zeros for a sentence without any)
//   out    = l2_normalize(tanh(W pooled + b)), norm floored at sqrt(1e-12)
// Sentences are independent: the graph's padding never reaches a real token
// (attention masks it with -1e9, which softmax turns into exactly 0), so a
// batch is computed as its sentences' tokens packed together.
//
// The weights come from an imported encoder directory (encoder_files.h in
// nlu writes and verifies it) as a safetensors file with the names below and
// linear weights in [out, in] layout. Encode is const and thread-safe.
#ifndef CHATBOT_USE_USE_ENCODER_H_
#define CHATBOT_USE_USE_ENCODER_H_

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bert/compute_backend.h"
#include "bert/safetensors.h"
#include "use/sentencepiece_tokenizer.h"

namespace chatbot::use {

inline constexpr int kMaxTokens = 128;
inline constexpr int kEmbeddingSize = 512;

class UseEncoder {
 public:
  // `weights`: the tensors TensorSpecs() names, checked for shape; throws
  // ModelError naming `where` and the tensor that is missing or misshapen.
  // `precision` is the linear layers' arithmetic (bf16: faster where the
  // CPU has AVX512-BF16, embeddings no longer equal to the reference's);
  // the backend's PrepareLinear throws ConfigError when it cannot run it.
  UseEncoder(const std::map<std::string, bert::Tensor>& weights, const std::string& where,
             std::vector<VocabularyPiece> vocabulary,
             std::shared_ptr<const bert::ComputeBackend> backend = nullptr,
             bert::Precision precision = bert::Precision::kF32);
  ~UseEncoder();

  const SentencePieceTokenizer& tokenizer() const { return tokenizer_; }

  // The embedding of `text` (kEmbeddingSize floats).
  std::vector<float> Encode(std::string_view text) const;
  // Embeddings of token id sequences: ids.size() rows of kEmbeddingSize.
  std::vector<float> EncodeIds(std::span<const std::vector<int>> ids) const;
  // Embeddings of texts, row-major, computed as one packed batch.
  std::vector<float> EncodeBatch(std::span<const std::string> texts) const;

  // The tensor names and shapes an encoder file holds, for the importer.
  struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
  };
  static const std::vector<TensorSpec>& TensorSpecs();

 private:
  struct Layer;
  std::vector<float> embeddings_;      // [vocab_rows, 256]
  std::vector<float> inv_timescales_;  // [128]
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<bert::LinearLayer> pooler_;
  int vocab_rows_ = 0;
  SentencePieceTokenizer tokenizer_;
  std::shared_ptr<const bert::ComputeBackend> backend_;
};

}  // namespace chatbot::use

#endif  // CHATBOT_USE_USE_ENCODER_H_
