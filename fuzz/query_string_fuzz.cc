// Query strings (server/query_string.h) as the API's routes read them
// (?limit=10&q=refund%20policy). The input: a query, then a parameter name
// after a "%%" line. What holds: any query can be searched for any name;
// a value percent-encoded into a query decodes to itself (print, parse);
// and a number that parses prints as text that parses to the same number.
#include <cmath>
#include <string>

#include "fuzz_support.h"
#include "server/query_string.h"

using namespace chatbot;

namespace {

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::SplitParts(fuzz::Text(data, size), 2);
  const std::string_view query = parts[0];
  const std::string_view name = parts.size() > 1 ? parts[1] : "q";
  const std::optional<std::string> value = server::QueryParameter(query, name);
  if (value) FUZZ_CHECK(value->size() <= query.size(), "a decoded value longer than the query");

  // Print, parse: whatever the client meant, encoded, reads back as sent.
  const std::string encoded = "a=1&" + PercentEncode(name) + "=" + PercentEncode(query) + "&z=2";
  const std::optional<std::string> decoded = server::QueryParameter(encoded, name);
  if (name != "a") {
    FUZZ_CHECK(decoded && *decoded == query, encoded);
  }

  int64_t integer = 0;
  if (server::ParseInteger(query, &integer)) {
    int64_t again = 0;
    FUZZ_CHECK(server::ParseInteger(std::to_string(integer), &again) && again == integer,
               std::string(query));
  }
  double number = 0;
  if (server::ParseNumber(query, &number)) {
    FUZZ_CHECK(std::isfinite(number), std::string(query));
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", number);
    double again = 0;
    FUZZ_CHECK(server::ParseNumber(text, &again) && again == number, text);
  }
  return 0;
}
