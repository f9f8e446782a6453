#include "nlu/text_normalizer.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace chatbot::nlu {
namespace {

const TextNormalizer kDefault;
const TextNormalizer kStripAccents(NormalizationOptions{.strip_accents = true});

TEST(TextNormalizerTest, LowercasesAscii) {
  EXPECT_EQ(kDefault.Normalize("Where Is MY Order?"), "where is my order?");
  EXPECT_EQ(kDefault.Normalize("ABC xyz 0123 [@`{]"), "abc xyz 0123 [@`{]");
}

TEST(TextNormalizerTest, AppliesNfkc) {
  EXPECT_EQ(kDefault.Normalize("\uFB01le"), "file");           // "ﬁ" ligature
  EXPECT_EQ(kDefault.Normalize("\uFF21\uFF22\uFF23"), "abc");  // full-width "ＡＢＣ"
  EXPECT_EQ(kDefault.Normalize("\uFF11\uFF12\uFF13"), "123");  // full-width digits
  EXPECT_EQ(kDefault.Normalize("x\u00B2"), "x2");              // superscript two
}

TEST(TextNormalizerTest, ComposesCombiningSequences) {
  // "e" + COMBINING ACUTE ACCENT and the precomposed "é" must become the same text.
  EXPECT_EQ(kDefault.Normalize("Cafe\u0301"), "caf\u00E9");
  EXPECT_EQ(kDefault.Normalize("Caf\u00E9"), "caf\u00E9");
}

TEST(TextNormalizerTest, FoldsCaseBeyondLowercasing) {
  EXPECT_EQ(kDefault.Normalize("Stra\u00DFe"), "strasse");  // "Straße"
  EXPECT_EQ(kDefault.Normalize("STRASSE"), "strasse");
  EXPECT_EQ(kDefault.Normalize("\u00C9COLE"), "\u00E9cole");  // "ÉCOLE"
  EXPECT_EQ(kDefault.Normalize("\u039F\u0394\u039F\u03A3"), "\u03BF\u03B4\u03BF\u03C3");  // "ΟΔΟΣ"
}

TEST(TextNormalizerTest, StripsAccentsOnlyWhenAsked) {
  EXPECT_EQ(kDefault.Normalize("Caf\u00E9"), "caf\u00E9");
  EXPECT_EQ(kStripAccents.Normalize("Caf\u00E9"), "cafe");
  EXPECT_EQ(kStripAccents.Normalize("Cafe\u0301"), "cafe");
  EXPECT_EQ(kStripAccents.Normalize("Cr\u00E8me Br\u00FBl\u00E9e"), "creme brulee");
  EXPECT_EQ(kStripAccents.Normalize("Where Is It"), "where is it");
  EXPECT_TRUE(kStripAccents.options().strip_accents);
  EXPECT_FALSE(kDefault.options().strip_accents);
}

TEST(TextNormalizerTest, CollapsesAndTrimsAsciiWhitespace) {
  EXPECT_EQ(kDefault.Normalize("  where \t is\n\nmy   order \r\n"), "where is my order");
  EXPECT_EQ(kDefault.Normalize("a\vb\fc"), "a b c");
  EXPECT_EQ(kDefault.Normalize(""), "");
  EXPECT_EQ(kDefault.Normalize(" \t\n "), "");
  EXPECT_EQ(kDefault.Normalize("x"), "x");
}

TEST(TextNormalizerTest, KeepsControlCharactersThatAreNotWhitespace) {
  // U+001C..U+001F are separators to Python's isspace(), not to Unicode.
  EXPECT_EQ(kDefault.Normalize(std::string("A\x1F\x1C\0\x7F"
                                           "B",
                                           6)),
            std::string("a\x1F\x1C\0\x7F"
                        "b",
                        6));
}

TEST(TextNormalizerTest, CollapsesAndTrimsUnicodeWhitespace) {
  // NO-BREAK SPACE, EM SPACE, IDEOGRAPHIC SPACE, NEXT LINE, LINE SEPARATOR,
  // OGHAM SPACE MARK: some become U+0020 under NFKC, some do not.
  EXPECT_EQ(kDefault.Normalize("\u00A0hello\u2003\u3000World\u0085x\u2028y\u1680z\u00A0"),
            "hello world x y z");
  EXPECT_EQ(kDefault.Normalize("\u00A0 \u3000"), "");
}

TEST(TextNormalizerTest, RemovesDefaultIgnorableCharacters) {
  EXPECT_EQ(kDefault.Normalize("pass\u00ADword"), "password");  // SOFT HYPHEN
  EXPECT_EQ(kDefault.Normalize("pass\u200Bword"), "password");  // ZERO WIDTH SPACE
  EXPECT_EQ(kDefault.Normalize("\uFEFFhello"), "hello");        // BOM
}

// The fast path must be indistinguishable from utf8proc. A NO-BREAK SPACE
// (whitespace, so trimmed) appended to an ASCII string forces the utf8proc
// path without changing the expected result.
TEST(TextNormalizerTest, AsciiFastPathMatchesUnicodePath) {
  std::vector<std::string> inputs = {"Where IS my Order?", "  Mixed\tCase \n Text  ", ""};
  for (int c = 0; c < 128; ++c) {
    inputs.push_back(std::string("Ab") + static_cast<char>(c) + "Zy");
    inputs.push_back(std::string(1, static_cast<char>(c)));
  }
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  inputs.push_back(all);

  for (const TextNormalizer* normalizer : {&kDefault, &kStripAccents}) {
    for (const std::string& input : inputs) {
      const std::string fast = normalizer->Normalize(input);
      EXPECT_EQ(fast, normalizer->Normalize(input + "\u00A0")) << "input: " << input;
      EXPECT_EQ(fast, normalizer->Normalize("\u00A0" + input)) << "input: " << input;
    }
  }
}

TEST(TextNormalizerTest, ReplacesInvalidUtf8) {
  const std::string fffd = "\uFFFD";
  EXPECT_EQ(kDefault.Normalize("a\xFF"
                               "B"),
            "a" + fffd + "b");
  EXPECT_EQ(kDefault.Normalize("\xFF"
                               "ABC"),
            fffd + "abc");
  // A truncated sequence is one maximal subpart: one U+FFFD.
  EXPECT_EQ(kDefault.Normalize("x\xE2\x82"), "x" + fffd);
  EXPECT_EQ(kDefault.Normalize("\xF0\x9F\x98"
                               "X"),
            fffd + "x");
  // Overlong and surrogate encodings: every byte is its own subpart.
  EXPECT_EQ(kDefault.Normalize("\xC0\xAF"), fffd + fffd);
  EXPECT_EQ(kDefault.Normalize("\xED\xA0\x80"), fffd + fffd + fffd);
  // The rest of the text is still normalised.
  EXPECT_EQ(kDefault.Normalize(" Stra\u00DFe\xFF  Caf\u00E9 "), "strasse" + fffd + " caf\u00E9");
  EXPECT_TRUE(IsValidUtf8(kDefault.Normalize("\x80\x81\xFE\xFF\xC2")));
}

TEST(TextNormalizerTest, NormalizeIntoBufferReplacesContents) {
  std::string out = "previous contents that are longer than the result";
  kDefault.Normalize("Hello  World", &out);
  EXPECT_EQ(out, "hello world");
  kDefault.Normalize("\uFF28i", &out);
  EXPECT_EQ(out, "hi");
}

TEST(TextNormalizerTest, IsSafeToShareBetweenThreads) {
  const std::string input = "Cr\u00E8me  \uFB01ne STRA\u00DFE \xFF";
  const std::string expected = kStripAccents.Normalize(input);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (kStripAccents.Normalize(input + std::to_string(i)) != expected + std::to_string(i)) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(IsValidUtf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul \0 inside", 12)));
  EXPECT_TRUE(IsValidUtf8("caf\u00E9 \u20AC \U0001F600"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest
}

TEST(IsValidUtf8Test, RejectsIllFormedTextWithOffset) {
  const struct {
    std::string text;
    size_t offset;
  } cases[] = {
      {"ab\x80", 2},            // lone continuation byte
      {"\xFF", 0},              // never valid
      {"ok \xFE", 3},           // never valid
      {"\xC0\x80", 0},          // overlong NUL
      {"x\xC1\xBF", 1},         // overlong 2-byte
      {"\xE0\x80\x80", 0},      // overlong 3-byte
      {"\xE0\x9F\xBF", 0},      // overlong U+07FF
      {"\xF0\x8F\xBF\xBF", 0},  // overlong U+FFFF
      {"ok\xED\xA0\x80", 2},    // surrogate U+D800
      {"\xED\xBF\xBF", 0},      // surrogate U+DFFF
      {"\xF4\x90\x80\x80", 0},  // U+110000
      {"\xF5\x80\x80\x80", 0},  // lead byte above U+10FFFF
      {"abc\xE2\x82", 3},       // truncated at the end
      {"\xF0\x9F\x98"
       "x",
       0},  // truncated before ASCII
      {"\xC3"
       "\xA9\xC3",
       2},                              // "é" then a truncated lead
      {"\xE2\x82\xAC\xE2\x28\xA1", 3},  // "€" then a bad continuation
  };
  for (const auto& c : cases) {
    size_t offset = 12345;
    EXPECT_FALSE(IsValidUtf8(c.text, &offset)) << testing::PrintToString(c.text);
    EXPECT_EQ(offset, c.offset) << testing::PrintToString(c.text);
    EXPECT_FALSE(IsValidUtf8(c.text));  // the offset is optional
  }
}

TEST(IsValidUtf8Test, LeavesOffsetAloneForValidText) {
  size_t offset = 7;
  EXPECT_TRUE(IsValidUtf8("caf\u00E9", &offset));
  EXPECT_EQ(offset, 7u);
}

}  // namespace
}  // namespace chatbot::nlu
