// A WordPiece vocabulary (Hugging Face vocab.txt): one token per line, the id
// of a token is its line number (from 0). Continuation pieces carry the "##"
// prefix in the file.
//
// Lookups take a string_view and allocate nothing: the tokenizer probes many
// substrings of every word on the request path. Continuation pieces are kept
// in a table of their own, keyed without "##", so probing "##ing" needs no
// concatenation.
#ifndef CHATBOT_BERT_VOCABULARY_H_
#define CHATBOT_BERT_VOCABULARY_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatbot::bert {

class Vocabulary {
 public:
  static constexpr int32_t kNotFound = -1;

  Vocabulary() = default;

  // Builds a vocabulary from tokens in id order. `source` names the origin in
  // error messages. Throws ModelError on a duplicate token, a token holding a
  // line break, or when [UNK], [CLS], [SEP] or [PAD] is missing.
  static Vocabulary FromTokens(std::vector<std::string> tokens,
                               const std::string& source = "vocabulary");
  // Reads vocab.txt. A trailing "\r" is dropped from each line. Throws
  // ModelError naming the file (and the line of a duplicate).
  static Vocabulary Load(const std::filesystem::path& path);
  // Writes vocab.txt atomically, one token per line.
  void Save(const std::filesystem::path& path) const;

  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }

  // The id of `token` (as written in vocab.txt, "##" included), or kNotFound.
  int32_t Find(std::string_view token) const;
  // The id of the whole-word piece `piece` (no "##"), or kNotFound.
  int32_t FindWord(std::string_view piece) const { return Lookup(words_, piece); }
  // The id of the continuation piece "##" + `piece`, or kNotFound.
  int32_t FindContinuation(std::string_view piece) const { return Lookup(continuations_, piece); }
  // Throws ModelError when `id` is out of range.
  const std::string& Token(int32_t id) const;

  // Longest whole-word and continuation piece, in bytes (without "##"): the
  // tokenizer never probes a longer substring.
  size_t max_word_bytes() const { return max_word_bytes_; }
  size_t max_continuation_bytes() const { return max_continuation_bytes_; }

  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t mask_id() const { return mask_id_; }  // kNotFound when absent

 private:
  // Heterogeneous lookup: find by string_view without building a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, int32_t, Hash, std::equal_to<>>;

  static int32_t Lookup(const Table& table, std::string_view key) {
    const auto it = table.find(key);
    return it == table.end() ? kNotFound : it->second;
  }

  std::vector<std::string> tokens_;
  Table words_;
  Table continuations_;
  size_t max_word_bytes_ = 0;
  size_t max_continuation_bytes_ = 0;
  int32_t pad_id_ = kNotFound;
  int32_t unk_id_ = kNotFound;
  int32_t cls_id_ = kNotFound;
  int32_t sep_id_ = kNotFound;
  int32_t mask_id_ = kNotFound;
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_VOCABULARY_H_
