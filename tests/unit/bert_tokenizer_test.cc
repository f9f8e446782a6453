#include "bert/bert_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bert/bert_config.h"
#include "bert/vocabulary.h"
#include "ci_skip.h"
#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CHATBOT_SOURCE_DIR) / "../shared/fixtures/bert-tiny";

// A small vocabulary: specials 0-4, then words and pieces.
Vocabulary SmallVocab() {
  return Vocabulary::FromTokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",   "##aff", "##able", "play", "##ing",
       "!",     "?",     "a",     "##a",   "café",   "cafe", "Café",  "hello",  "你",   "好",
       "world", "##s",   "i",     "##̇",    "ς",      "σ",    "οδος",  "οδοσ",   "##b",  "b"});
}

TokenizerOptions Lower() {
  return {};
}

TokenizerOptions Cased() {
  TokenizerOptions options;
  options.do_lower_case = false;
  options.strip_accents = false;
  return options;
}

TEST(BertTokenizerTest, MatchesTheHuggingFaceFixture) {
  const fs::path path = kFixture / "tokenization.json";
  if (!fs::exists(path)) CHATBOT_SKIP("fixture not available at " << path);
  const BertConfig config = BertConfig::Load(kFixture);
  const BertTokenizer tokenizer(Vocabulary::Load(kFixture / "vocab.txt"),
                                TokenizerOptions::FromConfig(config));
  const boost::json::object root = boost::json::parse(ReadFile(path)).as_object();
  const auto& strings = root.at("strings").as_array();
  const auto& basic = root.at("basic_tokens").as_array();
  const auto& ids = root.at("input_ids").as_array();
  ASSERT_EQ(strings.size(), basic.size());
  ASSERT_EQ(strings.size(), ids.size());
  ASSERT_GT(strings.size(), 0u);
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text(strings[i].as_string());
    std::vector<std::string> expected_words;
    for (const auto& w : basic[i].as_array()) expected_words.emplace_back(w.as_string());
    std::vector<int32_t> expected_ids;
    for (const auto& id : ids[i].as_array())
      expected_ids.push_back(static_cast<int32_t>(id.as_int64()));
    EXPECT_EQ(tokenizer.BasicTokenize(text), expected_words) << "text: " << text;
    EXPECT_EQ(tokenizer.Encode(text, config.model_max_length), expected_ids) << "text: " << text;
    // The out-parameter overload reuses a dirty vector.
    std::vector<int32_t> reused = {7, 7, 7};
    tokenizer.Encode(text, 0, &reused);
    EXPECT_EQ(reused, expected_ids) << "text: " << text;
  }
}

TEST(BertTokenizerTest, WordPieceIsGreedyLongestMatchFirst) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.Tokenize("unaffable playing!"),
              ElementsAre("un", "##aff", "##able", "play", "##ing", "!"));
  // "unaffablex": no piece for "x", so the whole word is [UNK], not a prefix.
  EXPECT_THAT(tokenizer.Tokenize("unaffablex hello"), ElementsAre("[UNK]", "hello"));
  EXPECT_THAT(tokenizer.Encode("hello world", 16), ElementsAre(2, 17, 20, 3));
}

TEST(BertTokenizerTest, EmptyAndBlankTextGiveClsSep) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.Encode("", 16), ElementsAre(2, 3));
  EXPECT_THAT(tokenizer.Encode(" \t\r\n\u3000 ", 16), ElementsAre(2, 3));
  EXPECT_THAT(tokenizer.BasicTokenize(""), IsEmpty());
}

TEST(BertTokenizerTest, TruncationKeepsSepAtTheEnd) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  // unaffable -> 3 pieces; hello -> 1.
  EXPECT_THAT(tokenizer.Encode("unaffable hello", 4), ElementsAre(2, 5, 6, 3));
  EXPECT_THAT(tokenizer.Encode("unaffable hello", 5), ElementsAre(2, 5, 6, 7, 3));
  EXPECT_THAT(tokenizer.Encode("unaffable hello", 6), ElementsAre(2, 5, 6, 7, 17, 3));
  EXPECT_THAT(tokenizer.Encode("unaffable hello", 100), ElementsAre(2, 5, 6, 7, 17, 3));
  // At least [CLS] [SEP], whatever the limit.
  EXPECT_THAT(tokenizer.Encode("hello", 1), ElementsAre(2, 3));
  // max_length <= 0: the configured model_max_length.
  TokenizerOptions options = Lower();
  options.model_max_length = 3;
  const BertTokenizer limited(SmallVocab(), options);
  EXPECT_THAT(limited.Encode("hello world", 0), ElementsAre(2, 17, 3));
}

TEST(BertTokenizerTest, WordsLongerThan100CharactersAreUnknown) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  const std::string hundred = "b" + std::string(99, 'a');  // b ##a x 99: 100 characters
  const std::vector<std::string> tokens = tokenizer.Tokenize(hundred);
  ASSERT_EQ(tokens.size(), 100u);
  EXPECT_EQ(tokens.front(), "b");
  EXPECT_EQ(tokens.back(), "##a");
  EXPECT_THAT(tokenizer.Tokenize(hundred + "a"), ElementsAre("[UNK]"));
  // Characters, not bytes: 100 two-byte characters still fit.
  std::string accented = "b";
  for (int i = 0; i < 99; ++i) accented += "\u00e1";  // á -> a after stripping
  EXPECT_EQ(tokenizer.Tokenize(accented).size(), 100u);
}

TEST(BertTokenizerTest, LowerCasingStripsAccentsAndCasedKeepsThem) {
  const BertTokenizer lower(SmallVocab(), Lower());
  EXPECT_THAT(lower.BasicTokenize("CAFÉ Café"), ElementsAre("cafe", "cafe"));
  // Decomposed input (e + U+0301) gives the same result.
  EXPECT_THAT(lower.BasicTokenize("Cafe\u0301"), ElementsAre("cafe"));

  const BertTokenizer cased(SmallVocab(), Cased());
  EXPECT_THAT(cased.BasicTokenize("Café CAFÉ"), ElementsAre("Café", "CAFÉ"));
  EXPECT_THAT(cased.Tokenize("Café café"), ElementsAre("Café", "café"));
  // NFC: a decomposed é composes, so the cased vocabulary's "Café" matches.
  EXPECT_THAT(cased.Tokenize("Cafe\u0301"), ElementsAre("Café"));

  // Lower-casing without accent stripping (strip_accents false).
  TokenizerOptions keep = Lower();
  keep.strip_accents = false;
  const BertTokenizer lower_keep(SmallVocab(), keep);
  EXPECT_THAT(lower_keep.Tokenize("CAFÉ"), ElementsAre("café"));
  // Accent stripping without lower-casing (strip_accents true).
  TokenizerOptions strip = Cased();
  strip.strip_accents = true;
  const BertTokenizer cased_strip(SmallVocab(), strip);
  EXPECT_THAT(cased_strip.BasicTokenize("Café"), ElementsAre("Cafe"));
}

TEST(BertTokenizerTest, LowerCasingFollowsPython) {
  TokenizerOptions keep = Lower();
  keep.strip_accents = false;
  const BertTokenizer tokenizer(SmallVocab(), keep);
  // "İ".lower() == "i̇" (i + U+0307), two code points.
  EXPECT_THAT(tokenizer.BasicTokenize("İ"), ElementsAre("i\u0307"));
  EXPECT_THAT(tokenizer.Tokenize("İ"), ElementsAre("i", "##\u0307"));
  // Final sigma: "ΟΔΟΣ".lower() == "οδος", a lone "Σ" is "σ".
  EXPECT_THAT(tokenizer.BasicTokenize("ΟΔΟΣ Σ ΣΑ"), ElementsAre("οδος", "σ", "σα"));
  // With accent stripping the combining dot goes.
  const BertTokenizer strip(SmallVocab(), Lower());
  EXPECT_THAT(strip.BasicTokenize("İ"), ElementsAre("i"));
}

TEST(BertTokenizerTest, ChineseCharactersAreSplitUnlessDisabled) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.BasicTokenize("你好world"), ElementsAre("你", "好", "world"));
  EXPECT_THAT(tokenizer.Encode("你好world", 16), ElementsAre(2, 18, 19, 20, 3));
  // CJK Extension B (U+20000) and compatibility ideographs count; kana do not.
  EXPECT_THAT(tokenizer.BasicTokenize("a\U00020000b\uF900cあい"),
              ElementsAre("a", "\U00020000", "b", "\u8C48", "cあい"));
  TokenizerOptions options = Lower();
  options.tokenize_chinese_chars = false;
  const BertTokenizer off(SmallVocab(), options);
  EXPECT_THAT(off.BasicTokenize("你好world"), ElementsAre("你好world"));
}

TEST(BertTokenizerTest, ControlCharactersAreDroppedAndWhitespaceSplits) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.BasicTokenize(std::string("hel\0lo", 6)), ElementsAre("hello"));
  EXPECT_THAT(tokenizer.BasicTokenize("hel\x01lo\x7f wor\u200bld\uFFFD"),
              ElementsAre("hello", "world"));
  EXPECT_THAT(tokenizer.BasicTokenize("a\tb\nc\rd\u00a0e\u2028f"),
              ElementsAre("a", "b", "c", "d", "e", "f"));
  // Vertical tab and form feed are control characters: dropped, not spaces.
  EXPECT_THAT(tokenizer.BasicTokenize("a\vb\fc"), ElementsAre("abc"));
  // Invalid UTF-8 bytes are dropped like U+FFFD.
  EXPECT_THAT(tokenizer.BasicTokenize("he\xffllo \xc3"), ElementsAre("hello"));
}

TEST(BertTokenizerTest, PunctuationSplitsIncludingAsciiSymbols) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.BasicTokenize("a$b^c`d~e"),
              ElementsAre("a", "$", "b", "^", "c", "`", "d", "~", "e"));
  // Unicode P* splits; symbols (S*) outside ASCII do not.
  EXPECT_THAT(tokenizer.BasicTokenize("a—b«c»d€e"),
              ElementsAre("a", "—", "b", "«", "c", "»", "d€e"));
}

TEST(BertTokenizerTest, SpecialTokensInTextStayWhole) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  EXPECT_THAT(tokenizer.Encode("hello[SEP]world", 16), ElementsAre(2, 17, 3, 20, 3));
  EXPECT_THAT(tokenizer.BasicTokenize("a [MASK] b"), ElementsAre("a", "[MASK]", "b"));
  // Only the exact spelling is special.
  EXPECT_THAT(tokenizer.BasicTokenize("[sep]"), ElementsAre("[", "sep", "]"));
}

TEST(BertTokenizerTest, ConcurrentEncodingAgrees) {
  const BertTokenizer tokenizer(SmallVocab(), Lower());
  const std::vector<int32_t> expected = tokenizer.Encode("Unaffable CAFÉ 你好 playing!", 32);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ok[t] += tokenizer.Encode("Unaffable CAFÉ 你好 playing!", 32) == expected;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(ok, ElementsAre(200, 200, 200, 200));
}

TEST(VocabularyTest, LoadsSavesAndRefusesBadFiles) {
  const fs::path dir =
      fs::temp_directory_path() / ("chatbot_vocab_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Vocabulary vocab = SmallVocab();
  EXPECT_EQ(vocab.unk_id(), 1);
  EXPECT_EQ(vocab.cls_id(), 2);
  EXPECT_EQ(vocab.sep_id(), 3);
  EXPECT_EQ(vocab.pad_id(), 0);
  EXPECT_EQ(vocab.mask_id(), 4);
  EXPECT_EQ(vocab.Find("##aff"), 6);
  EXPECT_EQ(vocab.FindContinuation("aff"), 6);
  EXPECT_EQ(vocab.FindWord("aff"), Vocabulary::kNotFound);
  EXPECT_EQ(vocab.Token(8), "play");
  EXPECT_THROW(vocab.Token(1000), ModelError);

  vocab.Save(dir / "vocab.txt");
  const Vocabulary loaded = Vocabulary::Load(dir / "vocab.txt");
  EXPECT_EQ(loaded.tokens(), vocab.tokens());

  WriteFileAtomically(dir / "dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\ny\nx\n");
  EXPECT_THAT([&] { Vocabulary::Load(dir / "dup.txt"); },
              ::testing::ThrowsMessage<ModelError>(
                  ::testing::HasSubstr("dup.txt:7: duplicate token 'x' (first on line 5)")));
  WriteFileAtomically(dir / "nospecial.txt", "[PAD]\n[UNK]\nx\n");
  EXPECT_THAT([&] { Vocabulary::Load(dir / "nospecial.txt"); },
              ::testing::ThrowsMessage<ModelError>(::testing::HasSubstr("[CLS], [SEP]")));
  EXPECT_THAT(
      [&] { Vocabulary::Load(dir / "absent.txt"); },
      ::testing::ThrowsMessage<ModelError>(::testing::HasSubstr("absent.txt: no such file")));
  // CRLF line ends are tolerated.
  WriteFileAtomically(dir / "crlf.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n");
  EXPECT_EQ(Vocabulary::Load(dir / "crlf.txt").sep_id(), 3);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chatbot::bert
