// IP addresses and networks (CIDR) for allowlists and trusted proxies.
//
// Every address is held as 16 bytes: IPv6 as is, IPv4 as the IPv4-mapped
// IPv6 address ::ffff:a.b.c.d, so one comparison covers both families and
// an IPv4 client reaching a dual-stack listener matches an IPv4 network.
// An IPv4 network a.b.c.d/n is the mapped network ::ffff:a.b.c.d/(96 + n).
#ifndef CHATBOT_SECURITY_IP_NETWORK_H_
#define CHATBOT_SECURITY_IP_NETWORK_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatbot::security {

class IpAddress {
 public:
  using Bytes = std::array<uint8_t, 16>;

  IpAddress() = default;  // :: (the unspecified address)
  explicit IpAddress(const Bytes& bytes) : bytes_(bytes) {}
  static IpAddress V4(uint32_t host_order);

  // "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; nullopt for anything else
  // (no ports, brackets, zone ids or surrounding spaces).
  static std::optional<IpAddress> Parse(std::string_view text);
  // Also accepts the forms proxies write: "[2001:db8::1]", "[2001:db8::1]:443",
  // "192.0.2.1:8080".
  static std::optional<IpAddress> ParseWithPort(std::string_view text);

  const Bytes& bytes() const { return bytes_; }
  bool is_v4() const;  // IPv4-mapped
  bool IsLoopback() const;
  // "192.0.2.1" for IPv4(-mapped) addresses, RFC 5952 text for IPv6.
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Bytes bytes_{};
};

class IpNetwork {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.7" is
  // /32, "::1" is /128). Returns nullopt and sets `*error` when malformed:
  // not an address, a prefix length out of range, or bits set beyond the
  // prefix ("10.0.0.1/8": probably a typo for /32 or 10.0.0.0/8).
  static std::optional<IpNetwork> Parse(std::string_view text, std::string* error);

  bool Contains(const IpAddress& address) const;
  // As written in configuration: "10.0.0.0/8", "2001:db8::/32".
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_ = 128;  // in the 128-bit (mapped) space
};

// An allowlist: matches when any of its networks contains the address.
class NetworkList {
 public:
  NetworkList() = default;
  explicit NetworkList(std::vector<IpNetwork> networks) : networks_(std::move(networks)) {}

  // Parses every entry; throws ConfigError "PLACE: entry N 'TEXT': reason"
  // for the first malformed one (entries are numbered from 1).
  static NetworkList ParseOrThrow(const std::vector<std::string>& entries,
                                  const std::string& place);

  bool empty() const { return networks_.empty(); }
  size_t size() const { return networks_.size(); }
  bool Contains(const IpAddress& address) const;
  const std::vector<IpNetwork>& networks() const { return networks_; }

 private:
  std::vector<IpNetwork> networks_;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_IP_NETWORK_H_
