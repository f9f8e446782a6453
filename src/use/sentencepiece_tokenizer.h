// The SentencePiece unigram tokenizer of the Universal Sentence Encoder Lite,
// computing exactly the token ids the TensorFlow.js package computes
// (@energetic-ai/embeddings' Tokenizer, itself tfjs-models' USE tokenizer).
//
// The text is NFKC-normalised; a non-empty text gets a leading "▁" and every
// ASCII space becomes "▁" (no lowercasing, no other whitespace handling).
// Segmentation is a Viterbi pass over a lattice of vocabulary pieces found by
// prefix search from each code point, scored by the sum of the pieces'
// log-probabilities. Where no piece starts at a code point, that code point
// alone becomes the unknown piece (id 0, score 0); runs of unknown pieces
// collapse into one. The reference implementation's quirks are kept because
// the network was trained on its output: a best score of exactly 0 counts as
// "none yet", ties go to the later candidate, and the backward pass steps by
// the chosen piece's length in UTF-16 code units.
#ifndef CHATBOT_USE_SENTENCEPIECE_TOKENIZER_H_
#define CHATBOT_USE_SENTENCEPIECE_TOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

namespace chatbot::use {

struct VocabularyPiece {
  std::string piece;  // UTF-8
  double score = 0;   // log-probability
};

class SentencePieceTokenizer {
 public:
  // The first `reserved` pieces (unknown, <s>, </s>, extra ids) are never
  // matched in text. Throws ModelError for an empty vocabulary.
  explicit SentencePieceTokenizer(std::vector<VocabularyPiece> pieces, int reserved = 6);

  // Token ids of `text` (UTF-8; invalid bytes read as U+FFFD). Empty for an
  // empty text. Thread-safe.
  std::vector<int> Encode(std::string_view text) const;

  // NFKC, then the "▁" prefix and space replacement, as code points.
  static std::u32string Normalize(std::string_view text);

  const std::vector<VocabularyPiece>& pieces() const { return pieces_; }

 private:
  struct TrieNode {
    std::vector<std::pair<char32_t, int>> children;  // sorted by code point
    int id = -1;                                     // the piece ending here, or -1
  };
  int Child(int node, char32_t symbol) const;

  std::vector<VocabularyPiece> pieces_;
  std::vector<int> utf16_lengths_;  // per piece
  std::vector<TrieNode> trie_;      // trie_[0] is the root
};

}  // namespace chatbot::use

#endif  // CHATBOT_USE_SENTENCEPIECE_TOKENIZER_H_
