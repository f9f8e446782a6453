#include "security/client_address.h"

#include <optional>

#include "common/ascii_text.h"

namespace chatbot::security {
namespace {

// The "for" values of a Forwarded header (RFC 7239), in order; an element
// without one yields "" (an undisclosed hop).
void ForwardedHops(std::string_view header, std::vector<std::string_view>* hops) {
  for (;;) {
    const size_t comma = header.find(',');
    std::string_view element = header.substr(0, comma);
    std::string_view found;
    for (;;) {
      const size_t semicolon = element.find(';');
      const std::string_view pair = TrimBlanks(element.substr(0, semicolon));
      if (StartsWithIgnoringCase(pair, "for=")) {
        found = TrimBlanks(pair.substr(4));
        if (found.size() >= 2 && found.front() == '"' && found.back() == '"') {
          found = found.substr(1, found.size() - 2);
        }
      }
      if (semicolon == std::string_view::npos) break;
      element.remove_prefix(semicolon + 1);
    }
    hops->push_back(found);
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
}

void CommaSeparated(std::string_view header, std::vector<std::string_view>* hops) {
  for (;;) {
    const size_t comma = header.find(',');
    hops->push_back(TrimBlanks(header.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
}

}  // namespace

bool ParseProxyHeader(std::string_view name, ProxyHeader* header) {
  if (name == "x-forwarded-for") {
    *header = ProxyHeader::kXForwardedFor;
  } else if (name == "forwarded") {
    *header = ProxyHeader::kForwarded;
  } else {
    return false;
  }
  return true;
}

ClientAddress ResolveClientAddress(
    const IpAddress& peer, const NetworkList& trusted_proxies, ProxyHeader header,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  if (trusted_proxies.empty() || !trusted_proxies.Contains(peer)) return {peer, true};
  const std::string_view wanted =
      header == ProxyHeader::kForwarded ? "forwarded" : "x-forwarded-for";
  std::vector<std::string_view> hops;
  for (const auto& [name, value] : headers) {
    if (name != wanted) continue;
    if (header == ProxyHeader::kForwarded) {
      ForwardedHops(value, &hops);
    } else {
      CommaSeparated(value, &hops);
    }
  }
  // From the right: every hop a trusted proxy added is skipped; the first
  // address none of them vouches for is the client.
  IpAddress current = peer;
  for (size_t i = hops.size(); i-- > 0;) {
    const std::optional<IpAddress> address = IpAddress::ParseWithPort(hops[i]);
    if (!address) return {current, false};
    current = *address;
    if (!trusted_proxies.Contains(current)) return {current, true};
  }
  // Only trusted proxies named: the leftmost is the client (a request made
  // on a proxy's machine). No hop at all: the proxy named nobody.
  return {current, !hops.empty()};
}

}  // namespace chatbot::security
