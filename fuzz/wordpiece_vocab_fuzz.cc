// WordPiece vocabularies (bert/vocabulary.h): vocab.txt of a BERT model,
// one token per line. What holds: a file either loads or is refused with a
// ModelError naming it; a loaded vocabulary finds every token at its own
// id, and saved and loaded again it has the same tokens (parse, print,
// parse).
#include <string>

#include "bert/vocabulary.h"
#include "common/error.h"
#include "fuzz_support.h"

using namespace chatbot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path file = fuzz::ScratchDir() / "vocab.txt";
  fuzz::WriteFile(file, fuzz::Text(data, size));
  bert::Vocabulary vocabulary;
  if (!fuzz::Refused<ModelError>([&] { vocabulary = bert::Vocabulary::Load(file); }, "vocab.txt")) {
    return 0;
  }
  for (int32_t id = 0; id < vocabulary.size(); ++id) {
    FUZZ_CHECK(vocabulary.Find(vocabulary.Token(id)) == id, vocabulary.Token(id));
  }
  FUZZ_CHECK(vocabulary.unk_id() >= 0 && vocabulary.cls_id() >= 0 && vocabulary.sep_id() >= 0 &&
                 vocabulary.pad_id() >= 0,
             "a vocabulary without its special tokens");
  const std::filesystem::path saved = fuzz::ScratchDir() / "saved.txt";
  fuzz::Refused<>([&] { vocabulary.Save(saved); });
  bert::Vocabulary again;
  fuzz::Refused<>([&] { again = bert::Vocabulary::Load(saved); });
  FUZZ_CHECK(again.tokens() == vocabulary.tokens(), "tokens changed when saved and loaded");
  return 0;
}
