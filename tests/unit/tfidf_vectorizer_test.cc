#include "nlu/tfidf_vectorizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/binary_io.h"
#include "common/error.h"

namespace chatbot::nlu {
namespace {

using testing::HasSubstr;
using testing::IsEmpty;
using testing::SizeIs;

// Three documents, word unigrams only:
//   df: red 2, apple 2, pear 1, green 1, pie 1; n = 3.
const std::vector<std::string> kCorpus = {"red apple", "red red pear", "green apple pie"};
const double kIdfDf2 = std::log(4.0 / 3.0) + 1.0;  // ln((1+3)/(1+2)) + 1
const double kIdfDf1 = std::log(4.0 / 2.0) + 1.0;  // ln((1+3)/(1+1)) + 1

TfidfOptions WordUnigrams(bool sublinear, int min_df = 1) {
  TfidfOptions options;
  options.ngrams.word_ngram_max = 1;
  options.ngrams.char_ngram_min = 2;  // min > max: no character n-grams
  options.ngrams.char_ngram_max = 1;
  options.min_df = min_df;
  options.sublinear_tf = sublinear;
  return options;
}

std::vector<SparseFeature> Transform(const TfidfVectorizer& v, std::string_view text) {
  std::vector<SparseFeature> out;
  v.Transform(text, &out);
  return out;
}

std::map<uint32_t, double> AsMap(const std::vector<SparseFeature>& features) {
  std::map<uint32_t, double> m;
  for (const SparseFeature& f : features) m[f.index] = f.value;
  return m;
}

double SquaredNorm(const std::vector<SparseFeature>& features) {
  double sum = 0;
  for (const SparseFeature& f : features) sum += static_cast<double>(f.value) * f.value;
  return sum;
}

// The index of a single known word in a word-only vectoriser.
uint32_t IndexOfWord(const TfidfVectorizer& v, std::string_view word) {
  const std::vector<SparseFeature> features = Transform(v, word);
  EXPECT_THAT(features, SizeIs(1)) << word;
  return features.empty() ? FeatureIndex::kNotFound : features[0].index;
}

// Expected L2-normalised values of (weight...) in order.
std::vector<double> Normalised(std::vector<double> weights) {
  double sum = 0;
  for (double w : weights) sum += w * w;
  for (double& w : weights) w /= std::sqrt(sum);
  return weights;
}

TEST(TfidfVectorizerTest, LearnsOneFeaturePerDistinctWord) {
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, WordUnigrams(false));
  EXPECT_EQ(v.num_features(), 5u);
  EXPECT_EQ(v.options().ngrams.word_ngram_max, 1);
  EXPECT_FALSE(v.options().sublinear_tf);
  std::map<uint32_t, int> seen;
  for (const char* word : {"red", "apple", "pear", "green", "pie"}) ++seen[IndexOfWord(v, word)];
  EXPECT_THAT(seen, SizeIs(5));
  for (const auto& [index, count] : seen) EXPECT_LT(index, 5u);
  // A single word is normalised to 1.
  EXPECT_NEAR(Transform(v, "pear")[0].value, 1.0, 1e-6);
}

TEST(TfidfVectorizerTest, IdfIsSmoothedLogRatioPlusOne) {
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, WordUnigrams(false));
  const uint32_t red = IndexOfWord(v, "red"), pear = IndexOfWord(v, "pear");
  const uint32_t apple = IndexOfWord(v, "apple"), green = IndexOfWord(v, "green");

  // tf = 1 each: the values are the idfs, normalised.
  std::map<uint32_t, double> got = AsMap(Transform(v, "red pear"));
  ASSERT_THAT(got, SizeIs(2));
  std::vector<double> want = Normalised({kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
  EXPECT_NEAR(got[pear], want[1], 1e-6);
  // The ratio is the idf ratio, ~0.7605 (unsmoothed ln(n/df)+1 would give ~0.670).
  EXPECT_NEAR(got[red] / got[pear], kIdfDf2 / kIdfDf1, 1e-6);

  got = AsMap(Transform(v, "green apple"));
  EXPECT_NEAR(got[apple] / got[green], kIdfDf2 / kIdfDf1, 1e-6);

  // Raw counts without sublinear tf: red x2.
  got = AsMap(Transform(v, "red red pear"));
  want = Normalised({2 * kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
  EXPECT_NEAR(got[pear], want[1], 1e-6);
  got = AsMap(Transform(v, "pear red pear red red"));
  want = Normalised({3 * kIdfDf2, 2 * kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
  EXPECT_NEAR(got[pear], want[1], 1e-6);
}

TEST(TfidfVectorizerTest, SublinearTfIsOnePlusLogCount) {
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, WordUnigrams(true));
  EXPECT_TRUE(v.options().sublinear_tf);
  const uint32_t red = IndexOfWord(v, "red"), pear = IndexOfWord(v, "pear");
  std::map<uint32_t, double> got = AsMap(Transform(v, "red red pear"));
  std::vector<double> want = Normalised({(1 + std::log(2.0)) * kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
  EXPECT_NEAR(got[pear], want[1], 1e-6);
  got = AsMap(Transform(v, "red red red red pear"));
  want = Normalised({(1 + std::log(4.0)) * kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
  EXPECT_NEAR(got[pear], want[1], 1e-6);
  // Count 1 is unchanged by the log.
  got = AsMap(Transform(v, "red pear"));
  want = Normalised({kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red], want[0], 1e-6);
}

TEST(TfidfVectorizerTest, DocumentFrequencyCountsDocumentsNotOccurrences) {
  // kiwi occurs twice but in one document: same idf as lime.
  const TfidfVectorizer v = TfidfVectorizer::Fit({"kiwi kiwi", "lime", "plum"}, WordUnigrams(true));
  const std::vector<SparseFeature> got = Transform(v, "kiwi lime");
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_NEAR(got[0].value, got[1].value, 1e-7);
  EXPECT_NEAR(got[0].value, std::sqrt(0.5), 1e-6);
}

TEST(TfidfVectorizerTest, MinDfDropsRareFeatures) {
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, WordUnigrams(false, 2));
  EXPECT_EQ(v.num_features(), 2u);  // red, apple
  EXPECT_THAT(Transform(v, "pear"), IsEmpty());
  EXPECT_THAT(Transform(v, "green pie"), IsEmpty());
  const std::vector<SparseFeature> red = Transform(v, "red pear");
  ASSERT_THAT(red, SizeIs(1));
  EXPECT_NEAR(red[0].value, 1.0, 1e-6);
  EXPECT_THAT(Transform(v, "apple red"), SizeIs(2));

  // Occurrences within one document do not count towards min_df.
  const TfidfVectorizer w =
      TfidfVectorizer::Fit({"kiwi kiwi kiwi", "red", "red"}, WordUnigrams(false, 2));
  EXPECT_EQ(w.num_features(), 1u);
  EXPECT_THAT(Transform(w, "kiwi"), IsEmpty());

  // min_df below 1 keeps everything.
  EXPECT_EQ(TfidfVectorizer::Fit(kCorpus, WordUnigrams(false, 0)).num_features(), 5u);
  EXPECT_EQ(TfidfVectorizer::Fit(kCorpus, WordUnigrams(false, 4)).num_features(), 0u);
}

TEST(TfidfVectorizerTest, FamiliesShareTheUnitNormEqually) {
  TfidfOptions options;
  options.ngrams.word_ngram_max = 1;  // "red pear" is a bigram of the corpus
  options.ngrams.char_ngram_min = 2;
  options.ngrams.char_ngram_max = 5;
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, options);
  // "red": one word feature (normalised alone to 1, then scaled by 1/sqrt 2)
  // and the ten character n-grams of " red " sharing the other half.
  const std::vector<SparseFeature> red = Transform(v, "red");
  ASSERT_THAT(red, SizeIs(11));
  EXPECT_NEAR(SquaredNorm(red), 1.0, 1e-6);
  int halves = 0;
  uint32_t red_index = 0;
  for (const SparseFeature& f : red) {
    if (std::fabs(f.value - std::sqrt(0.5)) < 1e-6) {
      ++halves;
      red_index = f.index;
    }
  }
  ASSERT_EQ(halves, 1) << "exactly the word feature carries 1/sqrt(2)";
  halves = 0;
  uint32_t pear_index = 0;
  for (const SparseFeature& f : Transform(v, "pear")) {
    if (std::fabs(f.value - std::sqrt(0.5)) < 1e-6) {
      ++halves;
      pear_index = f.index;
    }
  }
  ASSERT_EQ(halves, 1);

  // Two words: the word family is normalised on its own, then halved.
  std::map<uint32_t, double> got = AsMap(Transform(v, "red pear"));
  const std::vector<double> words = Normalised({kIdfDf2, kIdfDf1});
  EXPECT_NEAR(got[red_index], words[0] / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(got[pear_index], words[1] / std::sqrt(2.0), 1e-6);
  double characters = 0;
  for (const auto& [index, value] : got) {
    if (index != red_index && index != pear_index) characters += value * value;
  }
  EXPECT_NEAR(characters, 0.5, 1e-6);
  EXPECT_NEAR(SquaredNorm(Transform(v, "red pear")), 1.0, 1e-6);

  // Only character n-grams known ("reds" is not a word of the corpus): that
  // family alone takes the whole unit norm.
  const std::vector<SparseFeature> reds = Transform(v, "reds");
  ASSERT_FALSE(reds.empty());
  EXPECT_NEAR(SquaredNorm(reds), 1.0, 1e-6);
  for (const SparseFeature& f : reds) {
    EXPECT_NE(f.index, red_index);
    EXPECT_NE(f.index, pear_index);
  }
}

TEST(TfidfVectorizerTest, OutputIsSortedByIndexWithoutDuplicates) {
  const std::vector<std::string> corpus = {"where is my order", "i want to return my order",
                                           "my order is late", "return these boots please"};
  const TfidfVectorizer v = TfidfVectorizer::Fit(corpus, TfidfOptions{});
  ASSERT_GT(v.num_features(), 50u);
  const std::vector<SparseFeature> got =
      Transform(v, "order order my order is late late where is my return order boots");
  ASSERT_GT(got.size(), 20u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LT(got[i].index, v.num_features());
    EXPECT_TRUE(std::isfinite(got[i].value));
    EXPECT_GT(got[i].value, 0.0f);
    if (i > 0) {
      EXPECT_LT(got[i - 1].index, got[i].index) << "at " << i;
    }
  }
  EXPECT_NEAR(SquaredNorm(got), 1.0, 1e-5);
}

TEST(TfidfVectorizerTest, UnknownTextGivesAnEmptyVector) {
  const TfidfVectorizer v = TfidfVectorizer::Fit(kCorpus, WordUnigrams(true));
  EXPECT_THAT(Transform(v, "banana kiwi"), IsEmpty());
  EXPECT_THAT(Transform(v, ""), IsEmpty());
  EXPECT_THAT(Transform(v, "?!"), IsEmpty());
  // The output vector is replaced, not appended to.
  std::vector<SparseFeature> out = {{3, 9.0f}, {4, 9.0f}};
  v.Transform("banana", &out);
  EXPECT_THAT(out, IsEmpty());
  v.Transform("red", &out);
  EXPECT_THAT(out, SizeIs(1));

  const TfidfVectorizer with_chars = TfidfVectorizer::Fit(kCorpus, TfidfOptions{});
  EXPECT_THAT(Transform(with_chars, "zzz qqq"), IsEmpty());
}

TEST(TfidfVectorizerTest, EmptyCorpus) {
  const TfidfVectorizer v = TfidfVectorizer::Fit({}, TfidfOptions{});
  EXPECT_EQ(v.num_features(), 0u);
  EXPECT_THAT(Transform(v, "anything at all"), IsEmpty());
}

const std::vector<std::string> kLargerCorpus = {
    "where is my order",
    "has my package shipped yet",
    "i want to return these boots",
    "how do i return an item",
    "what is your refund policy",
    "hello there",
    "good morning",
    "thanks a lot",
    "can i pay with paypal",
    "my card was declined",
    "do you ship to canada",
    "how much is delivery",
    "caf\u00E9 cr\u00E8me br\u00FBl\u00E9e",
    "i don't know",
    "reset my password please",
};

TEST(TfidfVectorizerTest, FitIsDeterministic) {
  BinaryWriter a, b;
  TfidfVectorizer::Fit(kLargerCorpus, TfidfOptions{}).Serialize(&a);
  TfidfVectorizer::Fit(kLargerCorpus, TfidfOptions{}).Serialize(&b);
  EXPECT_EQ(a.data(), b.data());
}

TEST(TfidfVectorizerTest, SerializeRoundTripTransformsIdentically) {
  TfidfOptions options;
  options.min_df = 1;
  options.sublinear_tf = false;
  options.ngrams.word_ngram_max = 3;
  options.ngrams.char_ngram_min = 1;
  options.ngrams.char_ngram_max = 4;
  const TfidfVectorizer original = TfidfVectorizer::Fit(kLargerCorpus, options);
  BinaryWriter writer;
  original.Serialize(&writer);
  BinaryReader reader(writer.data(), "vectoriser.bin");
  const TfidfVectorizer copy = TfidfVectorizer::Deserialize(&reader);
  EXPECT_TRUE(reader.AtEnd());

  EXPECT_EQ(copy.num_features(), original.num_features());
  EXPECT_EQ(copy.options().ngrams.word_ngram_max, 3);
  EXPECT_EQ(copy.options().ngrams.char_ngram_min, 1);
  EXPECT_EQ(copy.options().ngrams.char_ngram_max, 4);
  EXPECT_EQ(copy.options().min_df, 1);
  EXPECT_FALSE(copy.options().sublinear_tf);

  std::vector<std::string> texts = kLargerCorpus;
  texts.insert(texts.end(), {"where is my parcel", "return boots", "", "unknown words only"});
  for (const std::string& text : texts) {
    const std::vector<SparseFeature> a = Transform(original, text);
    const std::vector<SparseFeature> b = Transform(copy, text);
    ASSERT_EQ(a.size(), b.size()) << text;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].index, b[i].index) << text;
      EXPECT_EQ(a[i].value, b[i].value) << text;  // bit-identical
    }
  }
  BinaryWriter again;
  copy.Serialize(&again);
  EXPECT_EQ(again.data(), writer.data());
}

TEST(TfidfVectorizerTest, DeserializeRefusesEveryTruncation) {
  BinaryWriter writer;
  TfidfVectorizer::Fit(kLargerCorpus, TfidfOptions{}).Serialize(&writer);
  const std::string& data = writer.data();
  ASSERT_GT(data.size(), 1000u);
  size_t refused = 0;
  for (size_t length = 0; length < data.size(); ++length) {
    BinaryReader reader(std::string_view(data).substr(0, length), "cut.bin");
    try {
      TfidfVectorizer::Deserialize(&reader);
      ADD_FAILURE() << "accepted a file cut at " << length << " of " << data.size();
    } catch (const ModelError& e) {
      ++refused;
      if (length == data.size() / 2) {
        EXPECT_THAT(e.what(), HasSubstr("cut.bin"));
        EXPECT_THAT(e.what(), HasSubstr("truncated"));
      }
    }
  }
  EXPECT_EQ(refused, data.size());
}

// Writes a vectoriser file field by field (the layout of Serialize).
std::string VectoriserFile(int word_max, int char_min, int char_max,
                           const std::vector<uint64_t>& hashes, const std::vector<float>& idf,
                           const std::vector<uint8_t>& families) {
  BinaryWriter w;
  w.Put<int32_t>(word_max);
  w.Put<int32_t>(char_min);
  w.Put<int32_t>(char_max);
  w.Put<int32_t>(1);
  w.Put<uint8_t>(1);
  w.PutArray(hashes);
  w.PutArray(idf);
  w.PutArray(families);
  return w.Take();
}

void ExpectRefused(const std::string& data, const std::string& message) {
  BinaryReader reader(data, "damaged.bin");
  try {
    TfidfVectorizer::Deserialize(&reader);
    ADD_FAILURE() << "accepted; expected an error about " << message;
  } catch (const ModelError& e) {
    EXPECT_THAT(e.what(), HasSubstr(message));
    EXPECT_THAT(e.what(), HasSubstr("damaged.bin"));
  }
}

TEST(TfidfVectorizerTest, DeserializeRefusesDamagedContents) {
  const std::vector<uint64_t> hashes = {10, 20, 30};
  const std::vector<float> idf = {1.5f, 1.0f, 2.0f};
  const std::vector<uint8_t> families = {0, 1, 0};
  {  // The well-formed file is accepted (so the refusals below are about the damage).
    const std::string good = VectoriserFile(2, 2, 5, hashes, idf, families);
    BinaryReader reader(good, "good.bin");
    EXPECT_EQ(TfidfVectorizer::Deserialize(&reader).num_features(), 3u);
    // Character n-grams switched off (min = max + 1) is a valid setting.
    const std::string no_chars = VectoriserFile(1, 2, 1, hashes, idf, families);
    BinaryReader reader2(no_chars, "good.bin");
    EXPECT_EQ(TfidfVectorizer::Deserialize(&reader2).num_features(), 3u);
  }
  ExpectRefused(VectoriserFile(0, 2, 5, hashes, idf, families), "n-gram options");
  ExpectRefused(VectoriserFile(9, 2, 5, hashes, idf, families), "n-gram options");
  ExpectRefused(VectoriserFile(2, 0, 5, hashes, idf, families), "n-gram options");
  ExpectRefused(VectoriserFile(2, 2, 17, hashes, idf, families), "n-gram options");
  ExpectRefused(VectoriserFile(2, 5, 2, hashes, idf, families), "n-gram options");
  ExpectRefused(VectoriserFile(2, 2, 5, hashes, {1.0f, 1.0f}, families), "different lengths");
  ExpectRefused(VectoriserFile(2, 2, 5, hashes, idf, {0, 1}), "different lengths");
  ExpectRefused(VectoriserFile(2, 2, 5, hashes, idf, {0, 2, 0}), "unknown family");
  ExpectRefused(VectoriserFile(2, 2, 5, {10, 30, 20}, idf, families), "not strictly ascending");
  ExpectRefused(VectoriserFile(2, 2, 5, {10, 20, 20}, idf, families), "not strictly ascending");

  // An absurd element count is refused before anything is allocated.
  BinaryWriter w;
  w.Put<int32_t>(2);
  w.Put<int32_t>(2);
  w.Put<int32_t>(5);
  w.Put<int32_t>(1);
  w.Put<uint8_t>(1);
  w.Put<uint64_t>(UINT64_MAX / 4);
  ExpectRefused(w.Take(), "implausible element count");
}

}  // namespace
}  // namespace chatbot::nlu
