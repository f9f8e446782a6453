// The architecture of a BERT encoder, as Hugging Face's config.json states it,
// plus the tokenizer options of tokenizer_config.json.
#ifndef CHATBOT_BERT_BERT_CONFIG_H_
#define CHATBOT_BERT_BERT_CONFIG_H_

#include <filesystem>
#include <string>
#include <vector>

namespace chatbot::bert {

struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int intermediate_size = 0;
  std::string hidden_act = "gelu";  // only the exact (erf) GELU is supported
  float hidden_dropout_prob = 0.1f;
  float attention_probs_dropout_prob = 0.1f;
  int max_position_embeddings = 512;
  int type_vocab_size = 2;
  float initializer_range = 0.02f;
  float layer_norm_eps = 1e-12f;
  int pad_token_id = 0;
  // The classification head's labels (config.json "id2label"), in id order;
  // empty for a bare encoder.
  std::vector<std::string> labels;

  // Tokenizer options (tokenizer_config.json, falling back to config.json).
  bool do_lower_case = true;
  bool strip_accents = true;  // defaults to do_lower_case, as in Hugging Face
  bool tokenize_chinese_chars = true;
  int model_max_length = 512;  // truncation length, at most max_position_embeddings

  int head_size() const { return hidden_size / num_attention_heads; }

  // Throws ModelError naming `source` and the field on an invalid or
  // unsupported value (e.g. an unknown activation, hidden_size not divisible
  // by num_attention_heads).
  void Validate(const std::string& source) const;

  // Reads config.json and, when present, tokenizer_config.json from `dir`.
  static BertConfig Load(const std::filesystem::path& dir);
  // Writes both files (atomically) in Hugging Face's layout, with id2label
  // and label2id when labels are set.
  void Save(const std::filesystem::path& dir) const;

  // Preset sizes for training from scratch: "tiny", "mini", "small".
  static BertConfig Preset(const std::string& size, int vocab_size, int num_labels);
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_CONFIG_H_
