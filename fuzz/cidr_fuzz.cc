// CIDR lists and addresses as [security] allow and trusted_proxies hold them
// (security/ip_network.h). Each line of the input is one entry. What holds:
// an entry either parses or is refused with a reason; a parsed network or
// address prints as text that parses back to the same thing (parse, print,
// parse); a network contains its own base address; and a list refuses
// exactly when one of its entries is malformed, with a ConfigError naming
// the place and the entry's number.
#include <string>
#include <vector>

#include "common/error.h"
#include "fuzz_support.h"
#include "security/ip_network.h"

using namespace chatbot;
using security::IpAddress;
using security::IpNetwork;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::Text(data, size);
  std::vector<std::string> entries;
  int malformed = 0;
  while (!text.empty() && entries.size() < 64) {
    const size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    entries.emplace_back(line);

    std::string error;
    const std::optional<IpNetwork> network = IpNetwork::Parse(line, &error);
    if (!network) {
      FUZZ_CHECK(!error.empty(), std::string(line));
      if (malformed == 0) malformed = static_cast<int>(entries.size());
    } else {
      const std::string printed = network->ToString();
      std::string again_error;
      const std::optional<IpNetwork> again = IpNetwork::Parse(printed, &again_error);
      FUZZ_CHECK(again.has_value(), printed + ": " + again_error);
      FUZZ_CHECK(again->ToString() == printed, printed);
      const size_t slash = printed.find('/');
      const auto base = IpAddress::Parse(printed.substr(0, slash));
      FUZZ_CHECK(base && network->Contains(*base), printed);
    }

    for (const auto& address : {IpAddress::Parse(line), IpAddress::ParseWithPort(line)}) {
      if (!address) continue;
      const std::string printed = address->ToString();
      const auto again = IpAddress::Parse(printed);
      FUZZ_CHECK(again && *again == *address, printed);
      FUZZ_CHECK(again->IsLoopback() == address->IsLoopback(), printed);
    }
  }

  const bool parsed = fuzz::Refused<ConfigError>(
      [&] {
        const auto list = security::NetworkList::ParseOrThrow(entries, "[security] allow");
        FUZZ_CHECK(list.size() == entries.size(), "a list lost entries");
      },
      malformed == 0 ? "" : "[security] allow: entry " + std::to_string(malformed));
  FUZZ_CHECK(parsed == (malformed == 0), "the list and its entries disagree");
  return 0;
}
