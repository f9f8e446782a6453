#include "server/request_framing.h"

#include "common/ascii_text.h"

namespace chatbot::server {

std::optional<FramingError> CheckTransferEncoding(const std::vector<std::string_view>& values) {
  std::vector<std::string_view> codings;
  for (std::string_view value : values) {
    for (;;) {
      const size_t comma = value.find(',');
      const std::string_view coding = TrimBlanks(value.substr(0, comma));
      // Empty list elements are allowed by the list syntax and carry nothing.
      if (!coding.empty()) codings.push_back(coding);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  if (codings.empty()) return FramingError{400, "Transfer-Encoding is empty"};
  if (!EqualsIgnoringCase(codings.back(), "chunked")) {
    return FramingError{400,
                        "Transfer-Encoding must end in chunked; the body's length cannot be "
                        "determined otherwise"};
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    if (EqualsIgnoringCase(codings[i], "chunked")) {
      return FramingError{400, "Transfer-Encoding applies chunked more than once"};
    }
  }
  if (codings.size() > 1) {
    return FramingError{501, "Transfer-Encoding: only chunked is supported, not '" +
                                 std::string(codings.front()) + "'"};
  }
  return std::nullopt;
}

}  // namespace chatbot::server
