// Who a request comes from behind trusted proxies (client_address.h): only
// the configured header, walked from the right across trusted proxies;
// unknown and obfuscated hops are the proxy that reported them, unidentified.
#include "security/client_address.h"

#include <gtest/gtest.h>

namespace chatbot::security {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

IpAddress Ip(std::string_view text) {
  return *IpAddress::Parse(text);
}

class ClientAddressTest : public ::testing::Test {
 protected:
  ClientAddress Resolve(const Headers& headers, std::string_view peer = "127.0.0.1") {
    return ResolveClientAddress(Ip(peer), trusted_, header_, headers);
  }
  NetworkList trusted_ = NetworkList::ParseOrThrow({"127.0.0.1/32", "10.0.0.0/8"}, "test");
  ProxyHeader header_ = ProxyHeader::kXForwardedFor;
};

TEST_F(ClientAddressTest, UntrustedPeersAreTheClientWhateverTheyClaim) {
  const ClientAddress direct = Resolve({{"x-forwarded-for", "127.0.0.1"}}, "192.0.2.9");
  EXPECT_EQ(direct.address, Ip("192.0.2.9"));
  EXPECT_TRUE(direct.identified);
  trusted_ = NetworkList();
  EXPECT_EQ(Resolve({{"x-forwarded-for", "10.0.0.1"}}).address, Ip("127.0.0.1"));
}

TEST_F(ClientAddressTest, OnlyTheConfiguredHeaderNamesTheClient) {
  const Headers both{{"forwarded", "for=\"[2001:db8::7]:4711\";proto=https"},
                     {"x-forwarded-for", "192.0.2.200"}};
  EXPECT_EQ(Resolve(both).address, Ip("192.0.2.200"));
  header_ = ProxyHeader::kForwarded;
  EXPECT_EQ(Resolve(both).address, Ip("2001:db8::7"));
  // The other header alone: the proxy named nobody.
  const ClientAddress none = Resolve({{"x-forwarded-for", "192.0.2.200"}});
  EXPECT_EQ(none.address, Ip("127.0.0.1"));
  EXPECT_FALSE(none.identified);
}

TEST_F(ClientAddressTest, UnknownAndObfuscatedHopsAreTheProxyUnidentified) {
  for (const std::string hop : {"unknown", "_hidden", "garbage", "", "[::1"}) {
    SCOPED_TRACE(hop);
    const ClientAddress alone = Resolve({{"x-forwarded-for", hop}});
    EXPECT_EQ(alone.address, Ip("127.0.0.1"));
    EXPECT_FALSE(alone.identified);
    const ClientAddress chain = Resolve({{"x-forwarded-for", "192.0.2.1, " + hop + ", 10.0.0.3"}});
    EXPECT_EQ(chain.address, Ip("10.0.0.3"));
    EXPECT_FALSE(chain.identified);
  }
  header_ = ProxyHeader::kForwarded;
  for (const std::string element : {"for=unknown", "for=_hidden", "for=\"_x:80\"", "proto=http"}) {
    SCOPED_TRACE(element);
    EXPECT_FALSE(Resolve({{"forwarded", element}}).identified);
  }
}

TEST_F(ClientAddressTest, ChainsAreWalkedFromTheRightAcrossTrustedProxies) {
  EXPECT_EQ(Resolve({{"x-forwarded-for", "127.0.0.1, 198.51.100.7"}}).address, Ip("198.51.100.7"));
  EXPECT_EQ(Resolve({{"x-forwarded-for", "203.0.113.5, 198.51.100.7, 10.1.1.1"}}).address,
            Ip("198.51.100.7"));
  // Several fields form one list, in order.
  EXPECT_EQ(Resolve({{"x-forwarded-for", "203.0.113.5"}, {"x-forwarded-for", "10.1.1.1"}}).address,
            Ip("203.0.113.5"));
  EXPECT_EQ(Resolve({{"x-forwarded-for", "198.51.100.4:4711, [2001:db8::1]:80"}}).address,
            Ip("2001:db8::1"));
  // Only trusted proxies named: the leftmost, identified.
  const ClientAddress local = Resolve({{"x-forwarded-for", "10.0.0.9, 10.0.0.8"}});
  EXPECT_EQ(local.address, Ip("10.0.0.9"));
  EXPECT_TRUE(local.identified);
  header_ = ProxyHeader::kForwarded;
  EXPECT_EQ(
      Resolve({{"forwarded", "for=192.0.2.1;by=x, For=\"[2001:db8::2]\", for=10.0.0.2"}}).address,
      Ip("2001:db8::2"));
}

TEST(ProxyHeaderTest, TheSettingsTwoValues) {
  ProxyHeader header = ProxyHeader::kForwarded;
  EXPECT_TRUE(ParseProxyHeader("x-forwarded-for", &header));
  EXPECT_EQ(header, ProxyHeader::kXForwardedFor);
  EXPECT_TRUE(ParseProxyHeader("forwarded", &header));
  EXPECT_EQ(header, ProxyHeader::kForwarded);
  EXPECT_FALSE(ParseProxyHeader("x-real-ip", &header));
}

}  // namespace
}  // namespace chatbot::security
