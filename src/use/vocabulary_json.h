// The encoder package's vocab.json, read and written: a JSON array of
// [piece, score] pairs, the index being the piece's id. Each score is read
// from its own digits with correct rounding, as JavaScript's JSON.parse in
// the reference reads it, so a vocabulary prints and reads back bit for bit.
#ifndef CHATBOT_USE_VOCABULARY_JSON_H_
#define CHATBOT_USE_VOCABULARY_JSON_H_

#include <string>
#include <string_view>
#include <vector>

#include "use/sentencepiece_tokenizer.h"

namespace chatbot::use {

// Parses vocab.json. A null score reads as 0 (the package has a few, for
// punctuation, and the reference's arithmetic adds them as 0). Throws
// ModelError naming `where` when the text is not such an array, an entry is
// not such a pair, a score is out of the range of a double, or it is empty.
std::vector<VocabularyPiece> ParseVocabularyJson(std::string_view json, const std::string& where);

// The inverse of ParseVocabularyJson (scores written in the shortest form
// that reads back to the same double).
std::string VocabularyToJson(const std::vector<VocabularyPiece>& pieces);

}  // namespace chatbot::use

#endif  // CHATBOT_USE_VOCABULARY_JSON_H_
