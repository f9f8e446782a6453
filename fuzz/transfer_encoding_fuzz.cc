// Transfer-Encoding field values (server/request_framing.h), one per line of
// the input. What holds: the request is accepted exactly when its only
// coding is "chunked" (any case, spaces around it), as RFC 9112 and the
// header's comment say; a refusal answers 400 or 501 with a message.
#include <cctype>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "server/request_framing.h"

using namespace chatbot;

namespace {

// The codings of all fields, split at commas, spaces and tabs trimmed; empty
// list elements skipped, as RFC 9110 5.6.1 lets a recipient do.
std::vector<std::string> Codings(const std::vector<std::string_view>& values) {
  std::vector<std::string> out;
  for (std::string_view value : values) {
    while (true) {
      const size_t comma = value.find(',');
      std::string_view item = value.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty()) {
        std::string lower(item);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.push_back(lower);
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::Text(data, size);
  std::vector<std::string_view> values;
  while (values.size() < 16) {
    const size_t newline = text.find('\n');
    values.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  const auto error = server::CheckTransferEncoding(values);
  const std::vector<std::string> codings = Codings(values);
  const bool only_chunked = codings.size() == 1 && codings[0] == "chunked";
  if (error) {
    FUZZ_CHECK(error->status == 400 || error->status == 501, error->message);
    FUZZ_CHECK(!error->message.empty(), "a refusal without a message");
    FUZZ_CHECK(!only_chunked, "plain chunked refused: " + error->message);
  } else {
    FUZZ_CHECK(only_chunked, "accepted a coding other than chunked alone");
  }
  return 0;
}
