#include "nlu/ngram_features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nlu/text_normalizer.h"

namespace chatbot::nlu {
namespace {

using testing::IsEmpty;
using testing::SizeIs;

NgramOptions Options(int word_max, int char_min, int char_max) {
  NgramOptions options;
  options.word_ngram_max = word_max;
  options.char_ngram_min = char_min;
  options.char_ngram_max = char_max;
  return options;
}

// Character n-grams off: char_ngram_min > char_ngram_max.
NgramOptions WordsOnly(int word_max) {
  return Options(word_max, 2, 1);
}

std::vector<HashedFeature> Extract(std::string_view text, const NgramOptions& options) {
  std::vector<HashedFeature> out;
  ExtractNgramFeatures(text, options, &out);
  return out;
}

// The hashes of one family (or all), sorted: a multiset.
std::vector<uint64_t> Hashes(const std::vector<HashedFeature>& features,
                             const FeatureFamily* family = nullptr) {
  std::vector<uint64_t> hashes;
  for (const HashedFeature& f : features) {
    if (family == nullptr || f.family == *family) hashes.push_back(f.hash);
  }
  std::sort(hashes.begin(), hashes.end());
  return hashes;
}

std::vector<uint64_t> WordHashes(const std::vector<HashedFeature>& features) {
  const FeatureFamily word = FeatureFamily::kWord;
  return Hashes(features, &word);
}

std::vector<uint64_t> CharHashes(const std::vector<HashedFeature>& features) {
  const FeatureFamily character = FeatureFamily::kCharacter;
  return Hashes(features, &character);
}

std::vector<uint64_t> Union(std::vector<uint64_t> a, const std::vector<uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

std::set<uint64_t> AsSet(const std::vector<uint64_t>& hashes) {
  return std::set<uint64_t>(hashes.begin(), hashes.end());
}

size_t CountFamily(const std::vector<HashedFeature>& features, FeatureFamily family) {
  return static_cast<size_t>(
      std::count_if(features.begin(), features.end(),
                    [&](const HashedFeature& f) { return f.family == family; }));
}

void ExpectSameFeatures(std::string_view a, std::string_view b, const NgramOptions& options) {
  const std::vector<HashedFeature> fa = Extract(a, options);
  const std::vector<HashedFeature> fb = Extract(b, options);
  ASSERT_EQ(fa.size(), fb.size()) << "'" << a << "' vs '" << b << "'";
  for (size_t i = 0; i < fa.size(); ++i) {
    EXPECT_EQ(fa[i].hash, fb[i].hash) << "'" << a << "' vs '" << b << "' at " << i;
    EXPECT_EQ(fa[i].family, fb[i].family) << "'" << a << "' vs '" << b << "' at " << i;
  }
}

TEST(NgramFeaturesTest, WordUnigramsAndBigrams) {
  const std::vector<HashedFeature> features = Extract("book a flight", WordsOnly(2));
  // book, a, flight + "book a", "a flight".
  ASSERT_THAT(features, SizeIs(5));
  EXPECT_EQ(CountFamily(features, FeatureFamily::kWord), 5u);
  EXPECT_EQ(AsSet(Hashes(features)).size(), 5u) << "the five n-grams must hash apart";

  // The n-grams are exactly those of the two overlapping two-word texts.
  const std::vector<uint64_t> book_a = Hashes(Extract("book a", WordsOnly(2)));
  const std::vector<uint64_t> a_flight = Hashes(Extract("a flight", WordsOnly(2)));
  ASSERT_THAT(book_a, SizeIs(3));
  EXPECT_EQ(AsSet(Hashes(features)), AsSet(Union(book_a, a_flight)));

  // The unigrams alone.
  const std::vector<uint64_t> unigrams =
      Union(Union(Hashes(Extract("book", WordsOnly(2))), Hashes(Extract("a", WordsOnly(2)))),
            Hashes(Extract("flight", WordsOnly(2))));
  EXPECT_EQ(Hashes(Extract("book a flight", WordsOnly(1))), unigrams);
}

TEST(NgramFeaturesTest, WordBigramsDependOnOrder) {
  const std::set<uint64_t> book_a = AsSet(Hashes(Extract("book a", WordsOnly(2))));
  const std::set<uint64_t> a_book = AsSet(Hashes(Extract("a book", WordsOnly(2))));
  std::vector<uint64_t> common;
  std::set_intersection(book_a.begin(), book_a.end(), a_book.begin(), a_book.end(),
                        std::back_inserter(common));
  EXPECT_THAT(common, SizeIs(2)) << "only the two unigrams are shared";
}

TEST(NgramFeaturesTest, WordTrigramsWhenAsked) {
  // 3 unigrams + 2 bigrams + 1 trigram.
  EXPECT_THAT(Extract("book a flight", WordsOnly(3)), SizeIs(6));
  // 4 + 3 + 2 words.
  EXPECT_THAT(Extract("book a cheap flight", WordsOnly(3)), SizeIs(9));
  const std::set<uint64_t> three = AsSet(Hashes(Extract("book a flight", WordsOnly(3))));
  EXPECT_EQ(three.size(), 6u);
  // The bigrams of the trigram run are the same as with word_ngram_max = 2.
  for (uint64_t h : Hashes(Extract("book a flight", WordsOnly(2)))) EXPECT_TRUE(three.count(h));
}

TEST(NgramFeaturesTest, CharacterNgramsFollowCharWbForTwoWords) {
  // scikit-learn's char_wb with ngram_range (2, 4) on "ab c":
  //   " ab ": n=2 " a" "ab" "b ", n=3 " ab" "ab ", n=4 " ab " (whole, stop)  -> 6
  //   " c ":  n=2 " c" "c ", n=3 " c " (whole, stop; n=4 never reached)      -> 3
  const std::vector<HashedFeature> features = Extract("ab c", Options(1, 2, 4));
  EXPECT_EQ(CountFamily(features, FeatureFamily::kWord), 2u);
  EXPECT_EQ(CountFamily(features, FeatureFamily::kCharacter), 9u);
  EXPECT_EQ(AsSet(CharHashes(features)).size(), 9u) << "nine different strings";

  // A larger n_max adds nothing: both padded words were counted whole and stopped.
  EXPECT_EQ(CharHashes(Extract("ab c", Options(1, 2, 9))), CharHashes(features));

  // Per-word n-grams: never across the space between the words.
  EXPECT_EQ(CharHashes(features), Union(CharHashes(Extract("ab", Options(1, 2, 4))),
                                        CharHashes(Extract("c", Options(1, 2, 4)))));
  // Same counts, word by word and n by n.
  EXPECT_THAT(CharHashes(Extract("ab", Options(1, 2, 2))), SizeIs(3));
  EXPECT_THAT(CharHashes(Extract("ab", Options(1, 3, 3))), SizeIs(2));
  EXPECT_THAT(CharHashes(Extract("ab", Options(1, 4, 4))), SizeIs(1));
  EXPECT_THAT(CharHashes(Extract("c", Options(1, 2, 2))), SizeIs(2));
  EXPECT_THAT(CharHashes(Extract("c", Options(1, 3, 3))), SizeIs(1));
  EXPECT_THAT(CharHashes(Extract("c", Options(1, 3, 8))), SizeIs(1)) << "whole once, then stop";
  // The whole padded word " c " is the same feature as its 3-gram.
  EXPECT_EQ(CharHashes(Extract("c", Options(1, 3, 3))), CharHashes(Extract("c", Options(1, 3, 8))));
  // n=4 on " ab " is the whole word: the same as its whole-word feature at n=9.
  EXPECT_EQ(CharHashes(Extract("ab", Options(1, 4, 4))),
            CharHashes(Extract("ab", Options(1, 4, 9))));
}

TEST(NgramFeaturesTest, CharacterNgramsAreTheSubstrings) {
  // Bigrams of " aba ": " a" "ab" "ba" "a ". Those of " ab " and " ba " are
  // " a" "ab" "b " and " b" "ba" "a ": the shared ones must hash equal.
  const std::set<uint64_t> aba = AsSet(CharHashes(Extract("aba", Options(1, 2, 2))));
  const std::vector<uint64_t> ab = CharHashes(Extract("ab", Options(1, 2, 2)));
  const std::vector<uint64_t> ba = CharHashes(Extract("ba", Options(1, 2, 2)));
  ASSERT_EQ(aba.size(), 4u);
  std::set<uint64_t> expected = AsSet(Union(ab, ba));
  ASSERT_EQ(expected.size(), 6u);
  std::set<uint64_t> shared;
  std::set_intersection(aba.begin(), aba.end(), expected.begin(), expected.end(),
                        std::inserter(shared, shared.end()));
  EXPECT_EQ(shared, aba) << "every bigram of 'aba' is one of 'ab' or 'ba'";
}

TEST(NgramFeaturesTest, RepeatedNgramsAppearOncePerOccurrence) {
  // " aaa ": bigrams " a" "aa" "aa" "a " -> "aa" twice.
  const std::vector<uint64_t> bigrams = CharHashes(Extract("aaa", Options(1, 2, 2)));
  ASSERT_THAT(bigrams, SizeIs(4));
  EXPECT_EQ(AsSet(bigrams).size(), 3u);
  // The word repeated: "go go go" -> go x3, "go go" x2.
  const std::vector<uint64_t> words = Hashes(Extract("go go go", WordsOnly(2)));
  ASSERT_THAT(words, SizeIs(5));
  std::map<uint64_t, int> counts;
  for (uint64_t h : words) ++counts[h];
  ASSERT_EQ(counts.size(), 2u);
  std::multiset<int> multiplicities;
  for (const auto& [hash, count] : counts) multiplicities.insert(count);
  EXPECT_EQ(multiplicities, (std::multiset<int>{2, 3}));
}

TEST(NgramFeaturesTest, AppendsToExistingOutput) {
  std::vector<HashedFeature> out = {{12345, FeatureFamily::kCharacter}};
  ExtractNgramFeatures("book a flight", WordsOnly(2), &out);
  ASSERT_THAT(out, SizeIs(6));
  EXPECT_EQ(out[0].hash, 12345u);
  EXPECT_EQ(out[0].family, FeatureFamily::kCharacter);
}

TEST(NgramFeaturesTest, ApostrophesInsideWordsAreDropped) {
  const NgramOptions options;  // defaults: both families
  ExpectSameFeatures("don't", "dont", options);
  ExpectSameFeatures("don\u2019t", "dont", options);  // U+2019, what phones type
  ExpectSameFeatures("i don't know", "i dont know", options);
  ExpectSameFeatures("rock'n'roll", "rocknroll", options);
  // At a word's edge an apostrophe ends the word and is not part of it.
  ExpectSameFeatures("'hello'", "hello", options);
  ExpectSameFeatures("the dogs' bowl", "the dogs bowl", options);
  ExpectSameFeatures("dogs\u2019", "dogs", options);
  // And it does separate words: "don't" is not "don t".
  EXPECT_NE(Hashes(Extract("don't", options)), Hashes(Extract("don t", options)));
}

TEST(NgramFeaturesTest, NonAsciiWordsStayWhole) {
  // "café" is one word, its unigram differs from "caf".
  const std::vector<HashedFeature> cafe = Extract("caf\u00E9", WordsOnly(2));
  ASSERT_THAT(cafe, SizeIs(1));
  EXPECT_NE(Hashes(cafe), Hashes(Extract("caf", WordsOnly(2))));
  EXPECT_THAT(Extract("\u4F60\u597D", WordsOnly(2)), SizeIs(1));  // "你好"

  // n-grams count code points, not bytes: " é " is 3 code points (4 bytes).
  EXPECT_THAT(CharHashes(Extract("\u00E9", Options(1, 2, 2))), SizeIs(2));
  EXPECT_THAT(CharHashes(Extract("\u00E9", Options(1, 3, 3))), SizeIs(1));
  // " 你好 ": 4 code points (8 bytes): n=2 -> 3, n=3 -> 2, n=4 -> whole, stop.
  EXPECT_THAT(CharHashes(Extract("\u4F60\u597D", Options(1, 2, 2))), SizeIs(3));
  EXPECT_THAT(CharHashes(Extract("\u4F60\u597D", Options(1, 2, 5))), SizeIs(6));
  // 4-byte code points too: " 𠀀 " (U+20000, a CJK letter) is 3 code points.
  EXPECT_THAT(CharHashes(Extract("\U00020000", Options(1, 2, 2))), SizeIs(2));
  // Emoji are symbols, not letters: they separate words.
  EXPECT_THAT(Extract("ok\U0001F600ok", WordsOnly(1)), SizeIs(2));
}

TEST(NgramFeaturesTest, NgramsNeverSplitACodePoint) {
  // If n-grams were cut at byte offsets, "é" and "è" (C3 A9 / C3 A8) would
  // share a gram ending in the lead byte C3. With whole code points they
  // share nothing.
  const std::set<uint64_t> acute = AsSet(CharHashes(Extract("\u00E9", Options(1, 1, 3))));
  const std::set<uint64_t> grave = AsSet(CharHashes(Extract("\u00E8", Options(1, 1, 3))));
  std::vector<uint64_t> common;
  std::set_intersection(acute.begin(), acute.end(), grave.begin(), grave.end(),
                        std::back_inserter(common));
  // Only the lone space grams " " (n=1, before and after) can be shared.
  EXPECT_THAT(common, SizeIs(1));
  // n=1 over " é ": " ", "é", " ".
  EXPECT_THAT(CharHashes(Extract("\u00E9", Options(1, 1, 1))), SizeIs(3));
}

TEST(NgramFeaturesTest, AccentedWordChangesOnlyItsOwnFeatures) {
  const NgramOptions options;
  const std::vector<uint64_t> accented = Hashes(Extract("je voudrais un caf\u00E9", options));
  const std::vector<uint64_t> plain = Hashes(Extract("je voudrais un cafe", options));
  EXPECT_NE(accented, plain);
  // Both contain every word and character feature of the unchanged words.
  const std::vector<uint64_t> common = Hashes(Extract("je voudrais un", options));
  EXPECT_TRUE(std::includes(accented.begin(), accented.end(), common.begin(), common.end()));
  EXPECT_TRUE(std::includes(plain.begin(), plain.end(), common.begin(), common.end()));
  // "café" and "cafe" still share their prefix n-grams (" c", "ca", "caf", ...).
  const std::set<uint64_t> a = AsSet(CharHashes(Extract("caf\u00E9", options)));
  const std::set<uint64_t> b = AsSet(CharHashes(Extract("cafe", options)));
  std::vector<uint64_t> shared;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
  // " c" "ca" "af" " ca" "caf" " caf" -> 6 shared; each also has grams of its own.
  EXPECT_THAT(shared, SizeIs(6));
  EXPECT_GT(a.size(), shared.size());
  EXPECT_GT(b.size(), shared.size());
}

TEST(NgramFeaturesTest, SameTextSameHashes) {
  const NgramOptions options;
  ExpectSameFeatures("where is my order", "where is my order", options);
  const std::vector<HashedFeature> once = Extract("where is my order", options);
  for (int i = 0; i < 3; ++i) {
    const std::vector<HashedFeature> again = Extract("where is my order", options);
    EXPECT_EQ(Hashes(again), Hashes(once));
  }
  EXPECT_NE(Hashes(Extract("where is my order", options)),
            Hashes(Extract("where is my parcel", options)));
}

TEST(NgramFeaturesTest, WordAndCharacterFamiliesAreDistinct) {
  // The word "ab" and the character bigram "ab" (of " ab ") hash the same
  // bytes: the family must be mixed in.
  const std::vector<HashedFeature> features = Extract("ab", Options(1, 2, 2));
  const std::vector<uint64_t> words = WordHashes(features);
  const std::set<uint64_t> chars = AsSet(CharHashes(features));
  ASSERT_THAT(words, SizeIs(1));
  ASSERT_EQ(chars.size(), 3u);
  EXPECT_EQ(chars.count(words[0]), 0u);

  // The same for the whole padded word " ab " against a longer text.
  const std::vector<HashedFeature> sentence =
      Extract("please book a flight to new york", NgramOptions{});
  const std::set<uint64_t> sentence_words = AsSet(WordHashes(sentence));
  for (uint64_t h : CharHashes(sentence)) EXPECT_EQ(sentence_words.count(h), 0u);
  for (const HashedFeature& f : sentence) {
    EXPECT_TRUE(f.family == FeatureFamily::kWord || f.family == FeatureFamily::kCharacter);
  }
}

TEST(NgramFeaturesTest, VeryLongWordsAreBoundedAndDeterministic) {
  const NgramOptions options;  // chars 2..5
  for (const std::string& word : {std::string(200, 'a'), std::string(65, 'x'),
                                  [] {
                                    std::string s;
                                    for (int i = 0; i < 100; ++i) s += "\u00E9";  // 200 bytes
                                    return s;
                                  }(),
                                  [] {
                                    std::string s;
                                    for (int i = 0; i < 30; ++i) s += "\u4F60";  // 90 bytes
                                    return s;
                                  }(),
                                  [] {
                                    std::string s(63, 'b');
                                    s += "\U00020000z";  // does not fit at byte 63
                                    return s;
                                  }()}) {
    SCOPED_TRACE(word.size());
    const std::string text = "go " + word + " now";
    const std::vector<HashedFeature> first = Extract(text, options);
    const std::vector<HashedFeature> second = Extract(text, options);
    EXPECT_EQ(Hashes(first), Hashes(second));
    // 3 unigrams + 2 bigrams.
    EXPECT_EQ(CountFamily(first, FeatureFamily::kWord), 5u);
    // At most 4 sizes of n-gram over at most 64 + 2 positions per word.
    EXPECT_GT(CountFamily(first, FeatureFamily::kCharacter), 0u);
    EXPECT_LE(CountFamily(first, FeatureFamily::kCharacter), 3u * 4u * 66u);
    // The surrounding words are unaffected.
    const std::vector<uint64_t> all = Hashes(first);
    for (const std::string_view other : {"go", "now"}) {
      const std::vector<uint64_t> own = Hashes(Extract(other, options));
      EXPECT_TRUE(std::includes(all.begin(), all.end(), own.begin(), own.end()));
    }
  }
}

TEST(NgramFeaturesTest, TextsWithoutWordsHaveNoFeatures) {
  const NgramOptions options;
  for (const std::string_view text :
       {"", " ", "   \t  ", "?!.,;:", "- -- ---", "'", "''' '", "\u2019", "(...)", "@#$%^&*"}) {
    EXPECT_THAT(Extract(text, options), IsEmpty()) << "'" << text << "'";
  }
  // Punctuation separates words without becoming part of them.
  ExpectSameFeatures("hello, world!", "hello world", options);
  ExpectSameFeatures("(order #123)", "order 123", options);
}

TEST(NgramFeaturesTest, NonAsciiPunctuationSeparatesWords) {
  // Smart quotes, guillemets, inverted marks and dashes survive
  // normalisation (NFKC + case folding) and are not letters or digits, so
  // they must not become part of a word ("runs of letters and digits").
  const TextNormalizer normalizer;
  const NgramOptions options;
  struct Case {
    const char* decorated;
    const char* plain;
  };
  for (const Case& c :
       {Case{"\u201Cwhere is my order\u201D", "where is my order"},
        Case{"\u00ABo\u00F9 est ma commande\u00BB", "o\u00F9 est ma commande"},
        Case{"\u00BFd\u00F3nde est\u00E1 mi pedido?", "d\u00F3nde est\u00E1 mi pedido"},
        Case{"order\u2014where is it", "order where is it"}}) {
    EXPECT_EQ(Hashes(Extract(normalizer.Normalize(c.decorated), options)),
              Hashes(Extract(normalizer.Normalize(c.plain), options)))
        << c.decorated;
  }
}

}  // namespace
}  // namespace chatbot::nlu
