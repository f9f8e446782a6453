#include "bert/wordpiece_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bert/bert_tokenizer.h"
#include "ci_skip.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

namespace fs = std::filesystem;

std::vector<std::string> Texts() {
  return {"What's my account balance?",
          "Can you tell me my balance please",
          "set an alarm for 7:30am tomorrow",
          "Set an ALARM for 6am",
          "transfer $1,250.75 from checking to savings",
          "transfer money to savings",
          "Café résumé naïve — über cool!!!",
          "你好 world",
          "remind me to call mom",
          "remind me to call dad tomorrow",
          "reminding and reminders and remindful",
          "playing played player plays",
          "what is the weather like in new york city this weekend"};
}

// Reads the "text" field of each line of a JSONL file, without a JSON parser
// (the test only needs a bag of realistic texts).
std::vector<std::string> ReadTexts(const fs::path& path, size_t limit) {
  std::vector<std::string> texts;
  std::ifstream in(path);
  std::string line;
  while (texts.size() < limit && std::getline(in, line)) {
    const size_t start = line.find("\"text\": \"");
    if (start == std::string::npos) continue;
    const size_t end = line.find("\", \"", start + 9);
    if (end == std::string::npos) continue;
    texts.push_back(line.substr(start + 9, end - start - 9));
  }
  return texts;
}

void ExpectEveryWordKnown(const Vocabulary& vocab, const std::vector<std::string>& texts) {
  const BertTokenizer tokenizer(vocab, TokenizerOptions{});
  for (const std::string& text : texts) {
    EXPECT_THAT(tokenizer.Tokenize(text), Not(Contains("[UNK]"))) << text;
  }
}

TEST(WordPieceBuilderTest, SpecialsFirstAndEveryTrainingWordKnown) {
  const std::vector<std::string> texts = Texts();
  WordPieceBuilderOptions options;
  options.target_size = 200;
  const Vocabulary vocab = BuildWordPieceVocabulary(texts, options);
  EXPECT_LE(vocab.size(), 200);
  EXPECT_EQ(vocab.pad_id(), 0);
  EXPECT_EQ(vocab.unk_id(), 1);
  EXPECT_EQ(vocab.cls_id(), 2);
  EXPECT_EQ(vocab.sep_id(), 3);
  EXPECT_EQ(vocab.mask_id(), 4);
  ExpectEveryWordKnown(vocab, texts);
  // Frequent whole words are single tokens; lower-cased and accent-free.
  const BertTokenizer tokenizer(vocab, TokenizerOptions{});
  EXPECT_THAT(tokenizer.Tokenize("remind me"), ElementsAre("remind", "me"));
  EXPECT_NE(vocab.Find("alarm"), Vocabulary::kNotFound);
  EXPECT_EQ(vocab.Find("ALARM"), Vocabulary::kNotFound);
  EXPECT_NE(vocab.Find("##e"), Vocabulary::kNotFound);
  // A word seen once is spelled with pieces, e.g. the frequent prefix "remind".
  EXPECT_EQ(vocab.Find("remindful"), Vocabulary::kNotFound);
  EXPECT_THAT(tokenizer.Tokenize("remindful").front(), "remind");
}

TEST(WordPieceBuilderTest, SizeBoundHoldsAndResultIsDeterministic) {
  std::vector<std::string> texts = Texts();
  for (int target : {5, 20, 60, 120, 100000}) {
    WordPieceBuilderOptions options;
    options.target_size = target;
    const Vocabulary a = BuildWordPieceVocabulary(texts, options);
    EXPECT_LE(a.size(), target);
    EXPECT_GE(a.size(), 5);
    std::vector<std::string> shuffled = texts;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(target));
    const Vocabulary b = BuildWordPieceVocabulary(shuffled, options);
    EXPECT_EQ(a.tokens(), b.tokens()) << "target " << target;
  }
  WordPieceBuilderOptions tiny;
  tiny.target_size = 4;
  EXPECT_THROW(BuildWordPieceVocabulary(texts, tiny), ConfigError);
}

TEST(WordPieceBuilderTest, ClincTrainingTextsFit) {
  const fs::path path = fs::path(CHATBOT_SOURCE_DIR) / "../shared/datasets/clinc150/train.jsonl";
  if (!fs::exists(path)) CHATBOT_SKIP("CLINC150 not available at " << path);
  const std::vector<std::string> texts = ReadTexts(path, 100000);
  ASSERT_GT(texts.size(), 10000u);
  WordPieceBuilderOptions options;
  options.target_size = 8000;
  const Vocabulary vocab = BuildWordPieceVocabulary(texts, options);
  EXPECT_LE(vocab.size(), 8000);
  EXPECT_GT(vocab.size(), 3000);
  ExpectEveryWordKnown(vocab, texts);
  // Unseen words decompose into pieces rather than [UNK].
  const BertTokenizer tokenizer(vocab, TokenizerOptions{});
  EXPECT_THAT(tokenizer.Tokenize("rebookings"), Not(Contains("[UNK]")));
}

}  // namespace
}  // namespace chatbot::bert
