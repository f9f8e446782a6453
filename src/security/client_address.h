// Who a request comes from when it arrives through trusted proxies.
//
// The TCP peer is the client unless it is one of [security]
// trusted_proxies. Then the client is named by the one header the operator
// configured the proxy to set ([security] proxy_header: X-Forwarded-For, or
// Forwarded per RFC 7239), never by any other: a proxy passes headers it
// does not set through unchanged, so any other header is the client's own
// word. The header is walked from the right, across trusted proxies only;
// the first address that is not a trusted proxy is the client. A hop that is
// not an address ("unknown", an obfuscated "_name", garbage, an empty
// header, or no header at all) ends the walk: the client is then the proxy
// that reported it, and is marked unidentified, so that it never counts as
// a loopback client even when that proxy runs on this machine.
#ifndef CHATBOT_SECURITY_CLIENT_ADDRESS_H_
#define CHATBOT_SECURITY_CLIENT_ADDRESS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "security/ip_network.h"

namespace chatbot::security {

enum class ProxyHeader { kXForwardedFor, kForwarded };

// "x-forwarded-for" or "forwarded" (the setting's values); false otherwise.
bool ParseProxyHeader(std::string_view name, ProxyHeader* header);

struct ClientAddress {
  IpAddress address;
  // False when a trusted proxy did not say who its client is (address is
  // then that proxy's).
  bool identified = true;
};

// `headers`: names in lower case, as the server stores them.
ClientAddress ResolveClientAddress(const IpAddress& peer, const NetworkList& trusted_proxies,
                                   ProxyHeader header,
                                   const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_CLIENT_ADDRESS_H_
