// The native Universal Sentence Encoder Lite against TensorFlow.js: token ids
// and embeddings of tests/fixtures/use/parity.json, written by
// make_fixture.mjs from the same npm package run in TensorFlow.js. The ids
// must match exactly, each embedding component within 1e-4 and each
// embedding's cosine with the reference at least 0.9999.
#include "use/use_encoder.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "ci_skip.h"
#include "common/error.h"
#include "use/sentencepiece_tokenizer.h"
#include "use/tfjs_package.h"
#include "use/vocabulary_json.h"

namespace chatbot::use {
namespace {
namespace fs = std::filesystem;

struct Case {
  std::string text;
  std::vector<int> ids;
  std::vector<float> embedding;
};

std::vector<Case> LoadFixture() {
  std::ifstream in(fs::path(CHATBOT_SOURCE_DIR) / "tests/fixtures/use/parity.json");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<Case> cases;
  const boost::json::value root = boost::json::parse(text.str());
  for (const auto& c : root.at("cases").as_array()) {
    Case parsed;
    parsed.text = std::string(c.at("text").as_string());
    for (const auto& id : c.at("ids").as_array())
      parsed.ids.push_back(static_cast<int>(id.as_int64()));
    for (const auto& v : c.at("embedding").as_array()) {
      parsed.embedding.push_back(static_cast<float>(v.to_number<double>()));
    }
    cases.push_back(std::move(parsed));
  }
  return cases;
}

class UseEncoderParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path dir = DefaultPackageDir();
    if (fs::exists(dir / "dist" / "model.json")) {
      try {
        package_ = new TfjsPackage(ReadTfjsPackage(dir));
      } catch (const Error& e) {
        load_error_ = new std::string(e.what());
      }
    }
  }
  static void TearDownTestSuite() {
    delete package_;
    package_ = nullptr;
    delete load_error_;
    load_error_ = nullptr;
  }
  void SetUp() override {
    if (load_error_ != nullptr) FAIL() << "the package does not load: " << *load_error_;
    if (package_ == nullptr) {
      CHATBOT_SKIP("the encoder package is not installed at "
                   << DefaultPackageDir() << " (scripts/setup.sh fetches it with npm)");
    }
  }
  static TfjsPackage* package_;
  static std::string* load_error_;
};
TfjsPackage* UseEncoderParityTest::package_ = nullptr;
std::string* UseEncoderParityTest::load_error_ = nullptr;

TEST_F(UseEncoderParityTest, TokenIdsMatchTheJavaScriptTokenizer) {
  const SentencePieceTokenizer tokenizer(package_->vocabulary);
  const auto cases = LoadFixture();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) EXPECT_EQ(tokenizer.Encode(c.text), c.ids) << "text: " << c.text;
}

TEST_F(UseEncoderParityTest, EmbeddingsMatchTensorFlowJs) {
  const UseEncoder encoder(package_->tensors, "package", package_->vocabulary);
  const auto cases = LoadFixture();
  std::vector<std::string> texts;
  for (const auto& c : cases) texts.push_back(c.text);
  // One packed batch and one sentence at a time must both match.
  const std::vector<float> batch = encoder.EncodeBatch(texts);
  double worst_cosine = 1;
  float worst_difference = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<float> single = encoder.Encode(cases[i].text);
    ASSERT_EQ(single.size(), static_cast<size_t>(kEmbeddingSize));
    double dot = 0, norm_a = 0, norm_b = 0;
    for (int k = 0; k < kEmbeddingSize; ++k) {
      const float expected = cases[i].embedding[static_cast<size_t>(k)];
      const float batched = batch[i * kEmbeddingSize + static_cast<size_t>(k)];
      EXPECT_NEAR(single[static_cast<size_t>(k)], expected, 1e-4) << "text: " << cases[i].text;
      EXPECT_NEAR(batched, single[static_cast<size_t>(k)], 1e-5) << "text: " << cases[i].text;
      worst_difference =
          std::max(worst_difference, std::fabs(single[static_cast<size_t>(k)] - expected));
      dot += single[static_cast<size_t>(k)] * expected;
      norm_a += single[static_cast<size_t>(k)] * single[static_cast<size_t>(k)];
      norm_b += expected * expected;
    }
    const double cosine = dot / std::sqrt(norm_a * norm_b);
    EXPECT_GE(cosine, 0.9999) << "text: " << cases[i].text;
    worst_cosine = std::min(worst_cosine, cosine);
  }
  std::cout << "parity over " << cases.size() << " sentences: worst cosine " << worst_cosine
            << ", worst component difference " << worst_difference << "\n";
}

// bf16 serving (bert.precision): close to the reference, not equal to it.
TEST_F(UseEncoderParityTest, Bf16IsCloseToTheReference) {
  const auto backend = bert::DefaultComputeBackend();
  if (!backend->Supports(bert::Precision::kBF16)) {
    EXPECT_THROW(UseEncoder(package_->tensors, "package", package_->vocabulary, backend,
                            bert::Precision::kBF16),
                 ConfigError);
    return;
  }
  const UseEncoder encoder(package_->tensors, "package", package_->vocabulary, backend,
                           bert::Precision::kBF16);
  double worst_cosine = 1;
  float largest_difference = 0;
  for (const Case& c : LoadFixture()) {
    const std::vector<float> e = encoder.Encode(c.text);
    ASSERT_EQ(e.size(), c.embedding.size());
    double dot = 0, norm_a = 0, norm_b = 0;
    for (size_t k = 0; k < e.size(); ++k) {
      dot += double(e[k]) * c.embedding[k];
      norm_a += double(e[k]) * e[k];
      norm_b += double(c.embedding[k]) * c.embedding[k];
      largest_difference = std::max(largest_difference, std::fabs(e[k] - c.embedding[k]));
    }
    worst_cosine = std::min(worst_cosine, dot / std::sqrt(norm_a * norm_b));
  }
  EXPECT_GE(worst_cosine, 0.99);
  // It really is another precision, not f32 under another name.
  EXPECT_GT(largest_difference, 1e-5f);
  std::cout << "bf16 against the reference: worst cosine " << worst_cosine << "\n";
}

TEST_F(UseEncoderParityTest, LongTextsKeepTheFirst128Tokens) {
  const UseEncoder encoder(package_->tensors, "package", package_->vocabulary);
  std::vector<int> ids(200, 9);
  ids[150] = 10;  // beyond the limit: changes nothing
  std::vector<int> clipped(ids.begin(), ids.begin() + kMaxTokens);
  const std::vector<std::vector<int>> batch = {ids, clipped};
  const auto out = encoder.EncodeIds(batch);
  for (int k = 0; k < kEmbeddingSize; ++k)
    EXPECT_FLOAT_EQ(out[static_cast<size_t>(k)], out[kEmbeddingSize + static_cast<size_t>(k)]);
}

TEST(SentencePieceTokenizerTest, ViterbiPrefersTheMoreProbableSegmentation) {
  std::vector<VocabularyPiece> pieces = {
      {"\uFFFD", 0}, {"<s>", 0},       {"</s>", 0},     {"x1", 0}, {"x2", 0},
      {"x3", 0},     {"\u2581ab", -1}, {"\u2581a", -1}, {"b", -3}, {"c", -2}};
  const SentencePieceTokenizer tokenizer(pieces);
  EXPECT_EQ(tokenizer.Encode("ab"), (std::vector<int>{6}));
  EXPECT_EQ(tokenizer.Encode("abc"), (std::vector<int>{6, 9}));
  // Unknown code points collapse into one unknown piece.
  EXPECT_EQ(tokenizer.Encode("ab\xC3\xA9\xC3\xA9"), (std::vector<int>{6, 0}));
  EXPECT_TRUE(tokenizer.Encode("").empty());
  // Invalid UTF-8 reads as U+FFFD, an unknown piece, not an error.
  EXPECT_EQ(tokenizer.Encode("ab\xFF"), (std::vector<int>{6, 0}));
}

// Found by the sentencepiece_vocab fuzz target (fuzz/corpus/
// sentencepiece_vocab/empty_unknown_piece): with an empty piece 0, encoding
// a text with an unknown code point never ended.
TEST(SentencePieceTokenizerTest, AnEmptyUnknownPieceEndsTheWalk) {
  const std::vector<VocabularyPiece> pieces = {{"", 0},   {"<s>", 0}, {"</s>", 0},     {"x1", 0},
                                               {"x2", 0}, {"x3", 0},  {"\u2581a", -1}, {"b", -2}};
  const SentencePieceTokenizer tokenizer(pieces);
  // "a" alone is unknown, and an unknown piece scoring 0 wins over "\u2581a"
  // (the reference's quirk, kept); the walk back then crosses unknown
  // positions one at a time.
  EXPECT_EQ(tokenizer.Encode("ab"), (std::vector<int>{0, 7}));
  EXPECT_EQ(tokenizer.Encode("a\xC3\xA9"
                             "b"),
            (std::vector<int>{0, 7}));
}

TEST(SentencePieceTokenizerTest, VocabularyJsonRoundTripsAndRejectsGarbage) {
  const auto pieces = ParseVocabularyJson(R"([["a", -1.5], ["\u2581b", -2.25]])", "test");
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1].piece, "\u2581b");
  EXPECT_EQ(ParseVocabularyJson(VocabularyToJson(pieces), "again")[1].score, -2.25);
  EXPECT_THROW(ParseVocabularyJson(R"({"a": 1})", "test"), ModelError);
  EXPECT_THROW(ParseVocabularyJson(R"([["a"]])", "test"), ModelError);
}

TEST(SentencePieceTokenizerTest, VocabularyJsonNamesWhatIsWrong) {
  const auto error_of = [](std::string_view json) {
    try {
      ParseVocabularyJson(json, "vocab.json");
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of("5"), "vocab.json: not a JSON array of [piece, score] pairs");
  EXPECT_EQ(error_of(R"({"a": 1})"), "vocab.json: not a JSON array of [piece, score] pairs");
  EXPECT_EQ(error_of(R"([["a", 1], 2])"), "vocab.json: entry 1 is not a [piece, score] pair");
  EXPECT_EQ(error_of(R"([["a", 1, 2]])"), "vocab.json: entry 0 is not a [piece, score] pair");
  EXPECT_EQ(error_of(R"([[1, "a"]])"), "vocab.json: entry 0 is not a [piece, score] pair");
  EXPECT_EQ(error_of(R"([["a", [1]]])"), "vocab.json: entry 0 is not a [piece, score] pair");
  EXPECT_EQ(error_of(R"([["a", 1e400]])"), "vocab.json: entry 0: the score is out of range");
  EXPECT_EQ(error_of(R"([["a", 1]] x)"), "vocab.json: not a JSON array of [piece, score] pairs");
  EXPECT_EQ(error_of("[]\n"), "vocab.json: the vocabulary is empty");
  EXPECT_EQ(ParseVocabularyJson("[[\"a\", null]]\n", "v")[0].score, 0.0);
}

// Scores are read from their digits with correct rounding, as the reference's
// JSON.parse reads them (Boost.JSON's own conversion is off in the last bits
// for long numbers), so every vocabulary prints and reads back bit for bit
// (found by the sentencepiece_vocab fuzz target).
TEST(SentencePieceTokenizerTest, VocabularyScoresAreCorrectlyRoundedAndRoundTrip) {
  const std::string digits(78, '6');
  const std::string long_score = digits + "0";
  const std::string json = "[[\"<unk>\", " + long_score + "], [\"b\", -10.154812812805176]," +
                           " [\"c\", 1.7976931348623157e308], [\"d\", 4.9e-324]]";
  const auto pieces = ParseVocabularyJson(json, "vocab.json");
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].score, std::strtod(long_score.c_str(), nullptr));
  EXPECT_EQ(pieces[1].score, -10.154812812805176);
  EXPECT_EQ(pieces[2].score, std::numeric_limits<double>::max());
  EXPECT_EQ(pieces[3].score, std::numeric_limits<double>::denorm_min());
  const auto again = ParseVocabularyJson(VocabularyToJson(pieces), "again");
  ASSERT_EQ(again.size(), pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) EXPECT_EQ(again[i].score, pieces[i].score) << i;
}

}  // namespace
}  // namespace chatbot::use
