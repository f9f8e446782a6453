// The USE model's head (nlu/use_head.h) without the encoder: synthetic
// embeddings stand in for it. Checks that the n-grams and the embedding both
// count, that a saved head scores exactly as the fitted one, and that a head
// inconsistent with itself or truncated is refused.
#include "nlu/use_head.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"

namespace chatbot::nlu {
namespace {

constexpr int kDim = 4;

int Best(const std::vector<float>& scores, size_t row, int classes) {
  const auto begin = scores.begin() + static_cast<ptrdiff_t>(row * classes);
  return static_cast<int>(std::max_element(begin, begin + classes) - begin);
}

struct Data {
  std::vector<std::string> texts;
  std::vector<float> x;
  std::vector<int> y;
};

// Class 0: texts about "weather" with embedding direction 0; class 1:
// "balance" texts with direction 1.
Data MakeData() {
  Data d;
  const std::vector<std::pair<std::string, int>> rows = {
      {"weather today", 0}, {"weather tomorrow", 0}, {"the weather please", 0},
      {"balance now", 1},   {"my balance", 1},       {"balance of my account", 1}};
  for (const auto& [text, label] : rows) {
    d.texts.push_back(text);
    d.y.push_back(label);
    for (int k = 0; k < kDim; ++k) d.x.push_back(k == label ? 1.0f : 0.0f);
  }
  return d;
}

TEST(UseHeadTest, NgramsAndEmbeddingBothDecide) {
  const Data d = MakeData();
  UseHeadOptions options;
  options.c = 10;
  const UseHead head = UseHead::Fit(d.texts, d.x, kDim, d.y, 2, options);
  EXPECT_TRUE(head.text_features());
  EXPECT_GT(head.num_text_features(), 0u);
  // A neutral embedding: the words decide.
  const std::vector<float> neutral(2 * kDim, 0.0f);
  const std::vector<std::string> words = {"weather", "balance"};
  const std::vector<float> by_words = head.Scores(words, neutral);
  EXPECT_EQ(Best(by_words, 0, 2), 0);
  EXPECT_EQ(Best(by_words, 1, 2), 1);
  // Unknown words: the embedding decides.
  const std::vector<std::string> unknown = {"zzz", "zzz"};
  std::vector<float> directions(2 * kDim, 0.0f);
  directions[0] = 1;         // row 0, direction 0
  directions[kDim + 1] = 1;  // row 1, direction 1
  const std::vector<float> by_embedding = head.Scores(unknown, directions);
  EXPECT_EQ(Best(by_embedding, 0, 2), 0);
  EXPECT_EQ(Best(by_embedding, 1, 2), 1);

  options.text_features = false;
  const UseHead embedding_only = UseHead::Fit(d.texts, d.x, kDim, d.y, 2, options);
  EXPECT_EQ(embedding_only.num_text_features(), 0u);
  const std::vector<float> blind = embedding_only.Scores(words, neutral);
  EXPECT_FLOAT_EQ(blind[0], blind[2]) << "without n-grams the words cannot count";
}

TEST(UseHeadTest, RoundTripsAndRefusesDamage) {
  const Data d = MakeData();
  for (const bool text_features : {true, false}) {
    UseHeadOptions options;
    options.text_features = text_features;
    const UseHead head = UseHead::Fit(d.texts, d.x, kDim, d.y, 2, options);
    BinaryWriter out;
    head.Serialize(&out);
    const std::string bytes = out.Take();
    BinaryReader in(bytes, "head.bin");
    const UseHead loaded = UseHead::Deserialize(&in);
    EXPECT_TRUE(in.AtEnd());
    EXPECT_EQ(loaded.text_features(), text_features);
    EXPECT_EQ(loaded.dimensions(), kDim);
    EXPECT_EQ(loaded.Scores(d.texts, d.x), head.Scores(d.texts, d.x));

    const std::string truncated = bytes.substr(0, bytes.size() / 2);
    BinaryReader short_in(truncated, "head.bin");
    EXPECT_THROW(UseHead::Deserialize(&short_in), ModelError);
    std::string wrong_dimensions = bytes;
    wrong_dimensions[10] = 7;  // the embedding size: no longer the SVM's
    BinaryReader bad_in(wrong_dimensions, "head.bin");
    try {
      UseHead::Deserialize(&bad_in);
      FAIL() << "a head whose sizes disagree was accepted";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("head.bin"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace chatbot::nlu
