// Addresses and CIDR networks of allowlists and trusted proxies: both
// families, the edges of a prefix, and malformed entries named with their
// place.
#include "security/ip_network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace chatbot::security {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(std::string_view text) {
  const std::optional<IpAddress> address = IpAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress());
}

IpNetwork Net(std::string_view text) {
  std::string error;
  const std::optional<IpNetwork> network = IpNetwork::Parse(text, &error);
  EXPECT_TRUE(network.has_value()) << text << ": " << error;
  return network.value_or(*IpNetwork::Parse("::/128", nullptr));
}

std::string ErrorOf(std::string_view text) {
  std::string error;
  EXPECT_FALSE(IpNetwork::Parse(text, &error).has_value()) << text;
  return error;
}

TEST(IpAddressTest, ParsesBothFamiliesAndMapsIpv4) {
  EXPECT_TRUE(Ip("192.0.2.1").is_v4());
  EXPECT_EQ(Ip("192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_EQ(Ip("::ffff:192.0.2.1"), Ip("192.0.2.1"));
  EXPECT_FALSE(Ip("2001:db8::1").is_v4());
  EXPECT_EQ(Ip("2001:0db8:0:0:0:0:0:1").ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::V4(0xC0000201), Ip("192.0.2.1"));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ",
                          "fe80::1%eth0", "[::1]", "1.2.3.4:80", "::g", "example.com"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(IpAddressTest, LoopbackIsAllOf127And1) {
  EXPECT_TRUE(Ip("127.0.0.1").IsLoopback());
  EXPECT_TRUE(Ip("127.255.0.9").IsLoopback());
  EXPECT_TRUE(Ip("::1").IsLoopback());
  EXPECT_TRUE(Ip("::ffff:127.0.0.1").IsLoopback());
  EXPECT_FALSE(Ip("128.0.0.1").IsLoopback());
  EXPECT_FALSE(Ip("::2").IsLoopback());
  EXPECT_FALSE(Ip("10.0.0.1").IsLoopback());
}

TEST(IpAddressTest, ProxyFormsWithBracketsAndPorts) {
  EXPECT_EQ(IpAddress::ParseWithPort("[2001:db8::1]:4711"), Ip("2001:db8::1"));
  EXPECT_EQ(IpAddress::ParseWithPort("[2001:db8::1]"), Ip("2001:db8::1"));
  EXPECT_EQ(IpAddress::ParseWithPort("192.0.2.43:47011"), Ip("192.0.2.43"));
  EXPECT_EQ(IpAddress::ParseWithPort("2001:db8::1"), Ip("2001:db8::1"));
  EXPECT_EQ(IpAddress::ParseWithPort("192.0.2.43"), Ip("192.0.2.43"));
  for (const char* bad : {"unknown", "_hidden", "[2001:db8::1", "[::1]:x", "1.2.3.4:", "[::1]x"}) {
    EXPECT_FALSE(IpAddress::ParseWithPort(bad).has_value()) << bad;
  }
}

TEST(IpNetworkTest, Ipv4PrefixEdges) {
  const IpNetwork net = Net("10.1.0.0/16");
  EXPECT_TRUE(net.Contains(Ip("10.1.0.0")));
  EXPECT_TRUE(net.Contains(Ip("10.1.255.255")));
  EXPECT_FALSE(net.Contains(Ip("10.0.255.255")));
  EXPECT_FALSE(net.Contains(Ip("10.2.0.0")));
  // A prefix that does not end on a byte.
  const IpNetwork odd = Net("192.168.4.0/22");
  EXPECT_TRUE(odd.Contains(Ip("192.168.4.0")));
  EXPECT_TRUE(odd.Contains(Ip("192.168.7.255")));
  EXPECT_FALSE(odd.Contains(Ip("192.168.3.255")));
  EXPECT_FALSE(odd.Contains(Ip("192.168.8.0")));
  // /32 and a bare address are one address; /0 is every IPv4 address.
  EXPECT_TRUE(Net("192.0.2.7/32").Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(Net("192.0.2.7/32").Contains(Ip("192.0.2.6")));
  EXPECT_TRUE(Net("192.0.2.7").Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(Net("192.0.2.7").Contains(Ip("192.0.2.8")));
  EXPECT_TRUE(Net("0.0.0.0/0").Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(Net("0.0.0.0/0").Contains(Ip("2001:db8::1")));
  // An IPv4 network matches IPv4-mapped IPv6 clients (dual-stack listeners).
  EXPECT_TRUE(Net("10.0.0.0/8").Contains(Ip("::ffff:10.9.8.7")));
  EXPECT_EQ(Net("10.0.0.0/8").ToString(), "10.0.0.0/8");
}

TEST(IpNetworkTest, Ipv6PrefixEdges) {
  const IpNetwork net = Net("2001:db8:abcd::/48");
  EXPECT_TRUE(net.Contains(Ip("2001:db8:abcd::")));
  EXPECT_TRUE(net.Contains(Ip("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(net.Contains(Ip("2001:db8:abce::")));
  EXPECT_FALSE(net.Contains(Ip("2001:db8:abcc:ffff::1")));
  const IpNetwork odd = Net("2001:db8::/31");
  EXPECT_TRUE(odd.Contains(Ip("2001:db9:ffff::1")));
  EXPECT_FALSE(odd.Contains(Ip("2001:dba::")));
  EXPECT_TRUE(Net("::1/128").Contains(Ip("::1")));
  EXPECT_FALSE(Net("::1/128").Contains(Ip("::2")));
  EXPECT_TRUE(Net("::/0").Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(Net("::/0").Contains(Ip("192.0.2.1")));  // mapped addresses are IPv6 too
  EXPECT_FALSE(Net("2001:db8::/32").Contains(Ip("192.0.2.1")));
  EXPECT_EQ(Net("2001:db8::/32").ToString(), "2001:db8::/32");
}

TEST(IpNetworkTest, MalformedEntriesSayWhy) {
  EXPECT_THAT(ErrorOf(""), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf("10.0.0.0/33"), HasSubstr("prefix length 33 is out of range (0 to 32"));
  EXPECT_THAT(ErrorOf("2001:db8::/129"), HasSubstr("out of range (0 to 128"));
  EXPECT_THAT(ErrorOf("10.0.0.0/"), HasSubstr("not a number"));
  EXPECT_THAT(ErrorOf("10.0.0.0/8x"), HasSubstr("not a number"));
  EXPECT_THAT(ErrorOf("10.0.0.0/-1"), HasSubstr("prefix length -1 is out of range"));
  EXPECT_THAT(ErrorOf("10.0.0/8"), HasSubstr("'10.0.0' is not an IPv4 or IPv6 address"));
  EXPECT_THAT(ErrorOf("localhost"), HasSubstr("not an IPv4 or IPv6 address"));
  EXPECT_THAT(ErrorOf("10.0.0.1/8"), HasSubstr("bits set beyond the /8 prefix (the network is "
                                               "10.0.0.0/8)"));
  EXPECT_THAT(ErrorOf("2001:db8::1/64"), HasSubstr("the network is 2001:db8::/64"));
}

TEST(NetworkListTest, MatchesAnyEntryAndNamesTheBadOne) {
  const NetworkList list = NetworkList::ParseOrThrow({"10.0.0.0/8", "2001:db8::/32"}, "here");
  EXPECT_TRUE(list.Contains(Ip("10.3.2.1")));
  EXPECT_TRUE(list.Contains(Ip("2001:db8::5")));
  EXPECT_FALSE(list.Contains(Ip("192.0.2.1")));
  EXPECT_TRUE(NetworkList().empty());
  try {
    NetworkList::ParseOrThrow({"10.0.0.0/8", "192.168.1.0/24", "300.1.1.1"},
                              "file config/chatbot.toml:12: security.allow");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("file config/chatbot.toml:12: security.allow: entry 3 "
                                    "'300.1.1.1': '300.1.1.1' is not an IPv4 or IPv6 address"));
  }
}

}  // namespace
}  // namespace chatbot::security
