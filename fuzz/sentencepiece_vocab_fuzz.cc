// The SentencePiece vocabulary of the Universal Sentence Encoder
// (use/sentencepiece_tokenizer.h): vocab.json, [piece, score] pairs. The
// input: the JSON, then after a "%%" line a text to tokenize. What holds:
// the JSON either parses or is refused with a ModelError naming the file;
// the pieces printed (VocabularyToJson) parse to the same pieces; a
// tokenizer built on them encodes any text into ids of the vocabulary.
#include <string>

#include "common/error.h"
#include "fuzz_support.h"
#include "use/sentencepiece_tokenizer.h"
#include "use/vocabulary_json.h"

using namespace chatbot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::SplitParts(fuzz::Text(data, size), 2);
  std::vector<use::VocabularyPiece> pieces;
  if (!fuzz::Refused<ModelError>([&] { pieces = use::ParseVocabularyJson(parts[0], "vocab.json"); },
                                 "vocab.json")) {
    return 0;
  }
  const std::string printed = use::VocabularyToJson(pieces);
  std::vector<use::VocabularyPiece> again;
  fuzz::Refused<>([&] { again = use::ParseVocabularyJson(printed, "printed.json"); });
  FUZZ_CHECK(again.size() == pieces.size(), printed);
  for (size_t i = 0; i < pieces.size(); ++i) {
    FUZZ_CHECK(again[i].piece == pieces[i].piece && again[i].score == pieces[i].score, printed);
  }
  if (pieces.empty() || parts.size() < 2) return 0;
  const use::SentencePieceTokenizer tokenizer(pieces);
  for (const int id : tokenizer.Encode(parts[1])) {
    FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < pieces.size(), std::to_string(id));
  }
  return 0;
}
