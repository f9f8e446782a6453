#include "bert/wordpiece_builder.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/error.h"

namespace chatbot::bert {
namespace {

const std::vector<std::string>& SpecialTokens() {
  static const std::vector<std::string> kSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  return kSpecials;
}

// The byte offsets of the code points of a UTF-8 word, plus its size.
std::vector<size_t> CodePointOffsets(const std::string& word) {
  std::vector<size_t> offsets;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xc0) != 0x80) offsets.push_back(i);
  }
  offsets.push_back(word.size());
  return offsets;
}

using Counts = std::unordered_map<std::string, int64_t>;

// Candidates ordered by score (descending), then by string: a total order,
// so the result does not depend on hash-table iteration.
std::vector<std::pair<std::string, int64_t>> Ranked(const Counts& counts) {
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return ranked;
}

}  // namespace

Vocabulary BuildWordPieceVocabulary(std::span<const std::string> texts,
                                    const WordPieceBuilderOptions& options) {
  const auto& specials = SpecialTokens();
  if (options.target_size < static_cast<int>(specials.size())) {
    throw ConfigError("WordPiece vocabulary size " + std::to_string(options.target_size) +
                      " cannot hold the " + std::to_string(specials.size()) + " special tokens");
  }
  if (options.min_count < 1) throw ConfigError("WordPiece min_count must be at least 1");
  if (options.max_piece_chars < 2) throw ConfigError("WordPiece max_piece_chars must be >= 2");

  std::vector<std::string> tokens = specials;
  std::unordered_set<std::string> present(tokens.begin(), tokens.end());
  const auto room = [&] { return tokens.size() < static_cast<size_t>(options.target_size); };
  const auto add = [&](const std::string& token) {
    if (room() && present.insert(token).second) tokens.push_back(token);
  };

  // Count the words of the basic tokenizer (the one the model will use).
  const BertTokenizer basic(Vocabulary::FromTokens(specials, "special tokens"), options.tokenizer);
  Counts words;
  for (const std::string& text : texts) {
    for (std::string& word : basic.BasicTokenize(text)) {
      if (!present.count(word)) ++words[std::move(word)];
    }
  }

  // Characters: "c" where a word starts with it, "##c" where it continues one.
  Counts chars;
  for (const auto& [word, count] : words) {
    const std::vector<size_t> at = CodePointOffsets(word);
    for (size_t i = 0; i + 1 < at.size(); ++i) {
      const std::string c = word.substr(at[i], at[i + 1] - at[i]);
      chars[i == 0 ? c : "##" + c] += count;
    }
  }
  for (const auto& [piece, count] : Ranked(chars)) add(piece);

  // Frequent whole words.
  for (const auto& [word, count] : Ranked(words)) {
    if (count < options.min_count || !room()) break;
    add(word);
  }

  // Prefixes and suffixes of the words left out, scored by the pieces they
  // save: a k-character piece replaces k single characters by one token.
  Counts scores;
  Counts occurrences;
  for (const auto& [word, count] : words) {
    if (present.count(word)) continue;
    const std::vector<size_t> at = CodePointOffsets(word);
    const size_t n = at.size() - 1;
    if (n > static_cast<size_t>(BertTokenizer::kMaxInputCharsPerWord)) continue;
    const size_t longest = std::min(static_cast<size_t>(options.max_piece_chars), n - 1);
    for (size_t k = 2; k <= longest && n >= 3; ++k) {
      const std::string prefix = word.substr(0, at[k]);
      const std::string suffix = "##" + word.substr(at[n - k]);
      for (const std::string* piece : {&prefix, &suffix}) {
        scores[*piece] += count * static_cast<int64_t>(k - 1);
        occurrences[*piece] += count;
      }
    }
  }
  for (const auto& [piece, score] : Ranked(scores)) {
    if (!room()) break;
    if (occurrences[piece] >= options.min_count) add(piece);
  }
  return Vocabulary::FromTokens(std::move(tokens), "generated WordPiece vocabulary");
}

}  // namespace chatbot::bert
