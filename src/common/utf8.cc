#include "common/utf8.h"

namespace chatbot {
namespace {

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Returns the length of the well-formed UTF-8 sequence at the start of
// `s[0..size)` (Unicode Table 3-7), or 0 when it is ill-formed; then
// `*invalid_length` receives the length of its maximal subpart, the bytes
// that one U+FFFD replaces.
size_t Utf8SequenceLength(const unsigned char* s, size_t size, size_t* invalid_length) {
  const unsigned char lead = s[0];
  if (lead < 0x80) return 1;
  size_t length;
  // The second byte's range is narrower after some leads: that is what rules
  // out overlongs (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {  // a continuation byte, C0/C1 (always overlong) or F5..FF
    *invalid_length = 1;
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    const unsigned char min = i == 1 ? second_min : 0x80;
    const unsigned char max = i == 1 ? second_max : 0xBF;
    if (i >= size || s[i] < min || s[i] > max) {
      *invalid_length = i;
      return 0;
    }
  }
  return length;
}

}  // namespace

void RepairUtf8(std::string_view text, std::string* out) {
  out->clear();
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    size_t invalid_length = 0;
    const size_t length = Utf8SequenceLength(bytes + i, text.size() - i, &invalid_length);
    if (length > 0) {
      out->append(text.data() + i, length);
      i += length;
    } else {
      out->append(kReplacementCharacter);
      i += invalid_length;
    }
  }
}

bool IsValidUtf8(std::string_view text, size_t* error_offset) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    if (bytes[i] < 0x80) {
      ++i;
      continue;
    }
    size_t invalid_length = 0;
    const size_t length = Utf8SequenceLength(bytes + i, text.size() - i, &invalid_length);
    if (length == 0) {
      if (error_offset != nullptr) *error_offset = i;
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace chatbot
