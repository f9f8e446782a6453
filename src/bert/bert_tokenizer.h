// Hugging Face's BertTokenizer (BasicTokenizer + WordpieceTokenizer), exactly:
// a model trained in Python must see the same ids here, or its accuracy is
// silently lost.
//
// Basic tokenization, in Hugging Face's order:
//  1. occurrences of the special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]
//     when in the vocabulary) in the raw text are kept whole;
//  2. cleaning: NUL, U+FFFD and every character of category C* are dropped,
//     "\t", "\n", "\r" and Zs characters become a space;
//  3. CJK ideographs (the ranges of `_is_chinese_char`) are surrounded by spaces;
//  4. NFC normalisation, then a split on whitespace;
//  5. per word: lower-casing (Python's str.lower(), incl. "İ" -> "i̇" and the
//     final sigma) when do_lower_case, accent stripping (NFD, drop Mn) when
//     strip_accents, then a split around every punctuation character (ASCII
//     33-47, 58-64, 91-96, 123-126, or category P*).
// WordPiece: greedy longest-match-first with "##" continuations; a word of
// more than 100 code points, or one that cannot be decomposed, becomes [UNK].
//
// Differences that remain: character properties come from utf8proc's Unicode
// tables, which may be a version apart from the Python that made a model; the
// "cased"/"case-ignorable" sets of the final-sigma rule are approximated from
// categories. Neither affects Latin, CJK or common text.
//
// Thread-safe: Encode keeps its scratch buffers in thread-local storage, so a
// warm thread allocates only the returned vector (or nothing with the
// out-parameter overload).
#ifndef CHATBOT_BERT_BERT_TOKENIZER_H_
#define CHATBOT_BERT_BERT_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bert/bert_config.h"
#include "bert/vocabulary.h"

namespace chatbot::bert {

struct TokenizerOptions {
  bool do_lower_case = true;
  bool strip_accents = true;  // resolved: Hugging Face's null means do_lower_case
  bool tokenize_chinese_chars = true;
  int model_max_length = 512;  // used when Encode is given max_length <= 0

  static TokenizerOptions FromConfig(const BertConfig& config);
};

class BertTokenizer {
 public:
  // Words longer than this (in code points) become [UNK], as in Hugging Face.
  static constexpr int kMaxInputCharsPerWord = 100;

  BertTokenizer(Vocabulary vocab, TokenizerOptions options);

  // The words after basic tokenization (before WordPiece), UTF-8.
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // The WordPiece tokens of `text`, without [CLS]/[SEP] and not truncated.
  std::vector<std::string> Tokenize(std::string_view text) const;

  // [CLS] ids... [SEP], truncated to `max_length` ids in all (at least 2) by
  // dropping word pieces from the end; max_length <= 0 means
  // options().model_max_length. Invalid UTF-8 bytes are dropped like U+FFFD.
  std::vector<int32_t> Encode(std::string_view text, int max_length) const;
  // The same into `ids` (cleared first), reusing its capacity.
  void Encode(std::string_view text, int max_length, std::vector<int32_t>* ids) const;

  const Vocabulary& vocab() const { return vocab_; }
  const TokenizerOptions& options() const { return options_; }

 private:
  // Calls `on_word(word, special)` for each basic word in order, until it
  // returns false. `special` is true for a special token kept whole.
  template <typename OnWord>
  void ForEachWord(std::string_view text, OnWord&& on_word) const;
  template <typename OnWord>
  bool ForEachWordOfChunk(std::string_view chunk, OnWord& on_word) const;
  // Appends the WordPiece ids of `word` to `ids`.
  void WordPiece(std::string_view word, std::vector<int32_t>* ids) const;

  Vocabulary vocab_;
  TokenizerOptions options_;
  std::vector<std::string> specials_;  // special tokens present in the vocabulary
};

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_BERT_TOKENIZER_H_
