// Forwarded and X-Forwarded-For headers (security/client_address.h), as a
// client behind a trusted proxy can write them. The input: the header
// values, one per part, under both header names. What holds: from an
// untrusted peer the headers are ignored; otherwise the client is the peer
// itself, an address a header named, and it is "identified" only when it
// is not a trusted proxy or every hop was one (never for a hop that is not
// an address).
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "security/client_address.h"

using namespace chatbot;
using security::IpAddress;

namespace {

const security::NetworkList& Proxies() {
  static const security::NetworkList list =
      security::NetworkList::ParseOrThrow({"127.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"}, "fuzz");
  return list;
}

// Whether `address` appears in the header values (any spelling).
bool Named(const IpAddress& address, const std::vector<std::pair<std::string, std::string>>& h) {
  for (const auto& [name, value] : h) {
    (void)name;
    for (size_t start = 0; start <= value.size(); ++start) {
      for (size_t length = 1; start + length <= value.size() && length <= 64; ++length) {
        const auto parsed = IpAddress::Parse(std::string_view(value).substr(start, length));
        if (parsed && *parsed == address) return true;
      }
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string_view> parts = fuzz::SplitParts(fuzz::Text(data, size), 8);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string_view part : parts) {
    headers.emplace_back("forwarded", std::string(part));
    headers.emplace_back("x-forwarded-for", std::string(part));
  }
  const IpAddress proxy = *IpAddress::Parse("10.1.2.3");
  const IpAddress stranger = *IpAddress::Parse("192.0.2.1");
  for (const auto header :
       {security::ProxyHeader::kForwarded, security::ProxyHeader::kXForwardedFor}) {
    const auto direct = security::ResolveClientAddress(stranger, Proxies(), header, headers);
    FUZZ_CHECK(direct.identified && direct.address == stranger,
               "the headers of an untrusted peer were believed");

    const auto resolved = security::ResolveClientAddress(proxy, Proxies(), header, headers);
    const std::string got = resolved.address.ToString();
    // Unidentified: the walk stopped at a trusted proxy that named nobody
    // usable, and that proxy stands for the client.
    FUZZ_CHECK(resolved.identified || Proxies().Contains(resolved.address), got);
    // An address that is no trusted proxy can only come from a header.
    if (!Proxies().Contains(resolved.address)) FUZZ_CHECK(resolved.identified, got);
    if (resolved.address != proxy && size < 256) {
      FUZZ_CHECK(Named(resolved.address, headers), "a client address no header named: " + got);
    }
  }
  return 0;
}
