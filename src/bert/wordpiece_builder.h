// Builds a WordPiece vocabulary from training texts, for a BERT trained from
// scratch (no pretrained vocabulary is available offline).
//
// The scheme is simple and deterministic (ties broken by string, so the same
// texts in any order give the same vocab.txt):
//  1. the special tokens [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4;
//  2. every character seen, alone and as "##c" (most frequent first), so any
//     training word can be spelled without [UNK];
//  3. whole words seen at least `min_count` times, most frequent first;
//  4. with the room left, prefixes ("unbel") and "##suffixes" ("##ing") of
//     2..`max_piece_chars` characters of the words not in the vocabulary,
//     scored by how many word occurrences they would shorten.
// The result never exceeds `target_size`; when even the characters do not
// fit, the rarest characters are left out (and become [UNK]).
#ifndef CHATBOT_BERT_WORDPIECE_BUILDER_H_
#define CHATBOT_BERT_WORDPIECE_BUILDER_H_

#include <span>
#include <string>

#include "bert/bert_tokenizer.h"
#include "bert/vocabulary.h"

namespace chatbot::bert {

struct WordPieceBuilderOptions {
  int target_size = 8000;
  int min_count = 2;        // whole words and pieces need this many occurrences
  int max_piece_chars = 6;  // longest prefix/suffix piece, in code points
  // Basic tokenization of the training texts (lower-cased by default).
  TokenizerOptions tokenizer;
};

// Throws ConfigError when target_size cannot hold the special tokens or an
// option is out of range.
Vocabulary BuildWordPieceVocabulary(std::span<const std::string> texts,
                                    const WordPieceBuilderOptions& options = {});

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_WORDPIECE_BUILDER_H_
