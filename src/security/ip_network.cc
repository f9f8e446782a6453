#include "security/ip_network.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "common/error.h"

namespace chatbot::security {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

IpAddress IpAddress::V4(uint32_t host_order) {
  Bytes bytes{};
  std::memcpy(bytes.data(), kMappedPrefix, 12);
  bytes[12] = static_cast<uint8_t>(host_order >> 24);
  bytes[13] = static_cast<uint8_t>(host_order >> 16);
  bytes[14] = static_cast<uint8_t>(host_order >> 8);
  bytes[15] = static_cast<uint8_t>(host_order);
  return IpAddress(bytes);
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a terminated string; addresses are short.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  Bytes bytes{};
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (::inet_pton(AF_INET, buffer, &v4) != 1) return std::nullopt;
    std::memcpy(bytes.data(), kMappedPrefix, 12);
    std::memcpy(bytes.data() + 12, &v4, 4);
  } else {
    in6_addr v6{};
    if (::inet_pton(AF_INET6, buffer, &v6) != 1) return std::nullopt;
    std::memcpy(bytes.data(), &v6, 16);
  }
  return IpAddress(bytes);
}

std::optional<IpAddress> IpAddress::ParseWithPort(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.size() < 2) return std::nullopt;
      for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
      }
    }
    return Parse(text.substr(1, close - 1));
  }
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port.
    for (char c : text.substr(colon + 1)) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    if (colon + 1 == text.size()) return std::nullopt;
    return Parse(text.substr(0, colon));
  }
  return Parse(text);
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes_.data(), kMappedPrefix, 12) == 0;
}

bool IpAddress::IsLoopback() const {
  if (is_v4()) return bytes_[12] == 127;
  static constexpr Bytes kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoopback6;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN];
  if (is_v4()) {
    return fmt::format("{}.{}.{}.{}", bytes_[12], bytes_[13], bytes_[14], bytes_[15]);
  }
  if (::inet_ntop(AF_INET6, bytes_.data(), text, sizeof text) == nullptr) return "?";
  return text;
}

std::optional<IpNetwork> IpNetwork::Parse(std::string_view text, std::string* error) {
  const auto fail = [&](std::string reason) -> std::optional<IpNetwork> {
    if (error != nullptr) *error = std::move(reason);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty");
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address) {
    return fail(fmt::format("'{}' is not an IPv4 or IPv6 address", address_text));
  }
  const bool v4_notation = address_text.find(':') == std::string_view::npos;
  const int max_prefix = v4_notation ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        digits.size() > 3) {
      return fail(fmt::format("prefix length '{}' is not a number", digits));
    }
    if (prefix < 0 || prefix > max_prefix) {
      return fail(fmt::format("prefix length {} is out of range (0 to {} for IPv{})", prefix,
                              max_prefix, v4_notation ? 4 : 6));
    }
  }
  IpNetwork network;
  network.prefix_ = v4_notation ? 96 + prefix : prefix;
  network.base_ = *address;
  // Bits beyond the prefix must be zero.
  const IpAddress::Bytes& bytes = address->bytes();
  for (int bit = network.prefix_; bit < 128; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) {
      IpAddress::Bytes masked = bytes;
      for (int b = network.prefix_; b < 128; ++b) masked[b / 8] &= ~(0x80 >> (b % 8));
      return fail(fmt::format("{} has bits set beyond the /{} prefix (the network is {}/{})",
                              address_text, prefix, IpAddress(masked).ToString(), prefix));
    }
  }
  return network;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  const IpAddress::Bytes& a = address.bytes();
  const IpAddress::Bytes& b = base_.bytes();
  const int whole = prefix_ / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(whole)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string IpNetwork::ToString() const {
  const bool v4 = base_.is_v4() && prefix_ >= 96;
  return fmt::format("{}/{}", base_.ToString(), v4 ? prefix_ - 96 : prefix_);
}

NetworkList NetworkList::ParseOrThrow(const std::vector<std::string>& entries,
                                      const std::string& place) {
  std::vector<IpNetwork> networks;
  networks.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string reason;
    std::optional<IpNetwork> network = IpNetwork::Parse(entries[i], &reason);
    if (!network) {
      throw ConfigError(fmt::format("{}: entry {} '{}': {}", place, i + 1, entries[i], reason));
    }
    networks.push_back(*network);
  }
  return NetworkList(std::move(networks));
}

bool NetworkList::Contains(const IpAddress& address) const {
  for (const IpNetwork& network : networks_) {
    if (network.Contains(address)) return true;
  }
  return false;
}

}  // namespace chatbot::security
