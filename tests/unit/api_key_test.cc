// The key format: recognisable, 256-bit secrets, strict parsing, a hash
// bound to the id.
#include "security/api_key.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

namespace chatbot::security {
namespace {

TEST(ApiKeyTest, FormatIsPrefixIdAndA256BitSecret) {
  const std::string id = NewKeyId();
  const std::string secret = NewSecret();
  const std::string key = FormatKey(id, secret);
  EXPECT_EQ(key.size(), kKeyLength);
  EXPECT_TRUE(std::regex_match(key, std::regex("cbk_[0-9a-f]{16}_[0-9A-Za-z]{43}"))) << key;
  // 43 base62 characters carry at least 256 bits.
  EXPECT_GE(43 * std::log2(62.0), 256.0);
  const std::optional<KeyParts> parts = ParseKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->id_text, id);
  EXPECT_EQ(parts->secret, secret);
  EXPECT_EQ(KeyIdText(parts->id), id);
}

TEST(ApiKeyTest, SecretsAndIdsDoNotRepeatAndUseTheWholeAlphabet) {
  std::set<std::string> secrets;
  std::set<std::string> ids;
  std::set<char> characters;
  for (int i = 0; i < 2000; ++i) {
    const std::string secret = NewSecret();
    characters.insert(secret.begin(), secret.end());
    EXPECT_TRUE(secrets.insert(secret).second);
    EXPECT_TRUE(ids.insert(NewKeyId()).second);
  }
  EXPECT_EQ(characters.size(), 62u);
}

TEST(ApiKeyTest, ParseRefusesAnythingElse) {
  const std::string good = FormatKey("0123456789abcdef", std::string(43, 'a'));
  ASSERT_TRUE(ParseKey(good).has_value());
  EXPECT_FALSE(ParseKey("").has_value());
  EXPECT_FALSE(ParseKey(good.substr(1)).has_value());
  EXPECT_FALSE(ParseKey(good + "a").has_value());
  EXPECT_FALSE(ParseKey("xbk_" + good.substr(4)).has_value());
  std::string upper_id = good;
  upper_id[5] = 'A';
  EXPECT_FALSE(ParseKey(upper_id).has_value());
  std::string bad_separator = good;
  bad_separator[20] = '-';
  EXPECT_FALSE(ParseKey(bad_separator).has_value());
  std::string bad_secret = good;
  bad_secret[30] = '_';
  EXPECT_FALSE(ParseKey(bad_secret).has_value());
  EXPECT_FALSE(ParseKeyId("0123456789abcde").has_value());
  EXPECT_FALSE(ParseKeyId("0123456789abcdeg").has_value());
  EXPECT_EQ(ParseKeyId("00000000000000ff"), 255u);
}

TEST(ApiKeyTest, HashIsBoundToIdAndSecret) {
  const std::string secret = NewSecret();
  const KeyHash a = HashSecret("0123456789abcdef", secret);
  EXPECT_TRUE(HashEquals(a, HashSecret("0123456789abcdef", secret)));
  EXPECT_FALSE(HashEquals(a, HashSecret("0123456789abcdee", secret)));
  std::string other = secret;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(HashEquals(a, HashSecret("0123456789abcdef", other)));
  // A concatenation cannot be shifted across the separator.
  EXPECT_FALSE(HashEquals(HashSecret("ab", "cd"), HashSecret("abc", "d")));
}

}  // namespace
}  // namespace chatbot::security
