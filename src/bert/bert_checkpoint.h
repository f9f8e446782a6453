// A BERT checkpoint directory in Hugging Face's layout: config.json,
// tokenizer_config.json, vocab.txt and model.safetensors.
//
// Tensors are keyed by canonical names, Hugging Face's names without the
// "bert." prefix ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", "pooler.dense.weight",
// "classifier.weight"), so checkpoints saved from BertModel (no prefix, no
// head) and from BertForSequenceClassification ("bert." prefix plus
// "classifier.*") load alike. Linear weights keep PyTorch's [out, in] layout.
//
// Loading checks everything the encoder relies on (every tensor present with
// the shape config.json implies, the vocabulary size, the classifier rows),
// so code downstream can index without checks.
#ifndef CHATBOT_BERT_BERT_CHECKPOINT_H_
#define CHATBOT_BERT_BERT_CHECKPOINT_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bert/bert_config.h"
#include "bert/safetensors.h"
#include "bert/vocabulary.h"

namespace chatbot::bert {

struct BertCheckpoint {
  BertConfig config;
  Vocabulary vocab;
  std::map<std::string, Tensor> tensors;  // canonical names

  // True when "classifier.weight" and "classifier.bias" are present.
  bool has_classifier() const;

  // Reads and validates a checkpoint directory. Pretraining heads ("cls.*")
  // and the "embeddings.position_ids"/"token_type_ids" buffers are ignored;
  // old "LayerNorm.gamma"/"beta" names are read as "weight"/"bias". Throws
  // ModelError naming the file and the tensor or field.
  static BertCheckpoint Load(const std::filesystem::path& dir);

  // Writes the four files into the existing directory `dir` (each file
  // atomically; the caller swaps whole directories). Parameters get the
  // "bert." prefix, as BertForSequenceClassification saves them, so
  // transformers can load the directory back.
  void Save(const std::filesystem::path& dir) const;

  // Throws ModelError (messages name `source`) unless the tensors, the
  // vocabulary and the config agree.
  void Validate(const std::string& source) const;

  // The canonical names the config implies, embeddings first, in layer order.
  static std::vector<std::string> ExpectedTensorNames(const BertConfig& config,
                                                      bool with_classifier);
  // The shape of canonical tensor `name` under `config`; throws ModelError
  // for a name that is not part of the architecture.
  static std::vector<int64_t> ExpectedShape(const BertConfig& config, const std::string& name);
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_CHECKPOINT_H_
