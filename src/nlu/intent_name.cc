#include "nlu/intent_name.h"

#include <fmt/core.h>
#include <utf8proc.h>

#include "nlu/text_normalizer.h"

namespace chatbot::nlu {

bool IsValidIntentName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return false;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(name.data());
  const auto size = static_cast<utf8proc_ssize_t>(name.size());
  utf8proc_ssize_t position = 0;
  utf8proc_int32_t code = 0;
  bool first = true;
  bool last_is_space = false;
  while (position < size) {
    position += utf8proc_iterate(bytes + position, size - position, &code);
    const utf8proc_category_t category = utf8proc_category(code);
    if (category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_ZL ||
        category == UTF8PROC_CATEGORY_ZP) {
      return false;
    }
    const bool space = category == UTF8PROC_CATEGORY_ZS || code == 0xFEFF;
    if (first && space) return false;
    first = false;
    last_is_space = space;
  }
  return !last_is_space;
}

std::string EscapeForDisplay(std::string_view text) {
  std::string out = "'";
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  utf8proc_ssize_t position = 0;
  while (position < size) {
    utf8proc_int32_t code = 0;
    const utf8proc_ssize_t length = utf8proc_iterate(bytes + position, size - position, &code);
    if (length <= 0) {  // not UTF-8: the byte itself, escaped
      out += fmt::format("\\x{:02x}", bytes[position]);
      ++position;
      continue;
    }
    const utf8proc_category_t category = utf8proc_category(code);
    if (code == '\\') {
      out += "\\\\";
    } else if (code == '\n') {
      out += "\\n";
    } else if (code == '\t') {
      out += "\\t";
    } else if (code == '\r') {
      out += "\\r";
    } else if (code < 0x80 && category == UTF8PROC_CATEGORY_CC) {
      out += fmt::format("\\x{:02x}", code);
    } else if (category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_ZL ||
               category == UTF8PROC_CATEGORY_ZP) {
      out += fmt::format("\\u{{{:04x}}}", code);
    } else {
      out.append(text.substr(position, length));
    }
    position += length;
  }
  return out + "'";
}

}  // namespace chatbot::nlu
