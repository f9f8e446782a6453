#include "nlu/text_normalizer.h"

#include <utf8proc.h>

#include <cstdint>
#include <vector>

#include "common/utf8.h"

namespace chatbot::nlu {
namespace {

// NFKC_Casefold, as utf8proc_NFKC_Casefold() computes it:
//  - COMPAT + COMPOSE is NFKC: compatibility decomposition, then canonical
//    composition, so ligatures and full-width forms become plain letters while
//    "e" + U+0301 and "é" end up as the same single code point.
//  - CASEFOLD rather than lower-casing, so that "ß" matches "ss".
//  - STABLE keeps the result stable across Unicode versions, so a model
//    trained with one utf8proc release sees the same text under the next.
//  - IGNORE drops default-ignorable code points (soft hyphen, zero-width
//    space and joiners, variation selectors, BOM). They are invisible, so a
//    user cannot tell "pass\u00ADword" from "password", and they would
//    otherwise split words into different features.
// STRIPCC is deliberately absent: it would turn some control characters into
// spaces and delete others, which the ASCII fast path would then have to
// copy; whitespace is handled below, by the Unicode White_Space property.
constexpr utf8proc_option_t kBaseOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

// utf8proc applies STRIPMARK between its decomposition and the composition
// that COMPOSE asks for, so "é" is decomposed, loses U+0301 and recomposes.
constexpr utf8proc_option_t kStripAccentsOptions =
    static_cast<utf8proc_option_t>(kBaseOptions | UTF8PROC_STRIPMARK);

bool IsAsciiWhitespace(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// The Unicode White_Space property (PropList.txt).
bool IsWhitespace(utf8proc_int32_t c) {
  if (c < 0x80) return IsAsciiWhitespace(static_cast<unsigned char>(c));
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

TextNormalizer::TextNormalizer(NormalizationOptions options) : options_(options) {}

std::string TextNormalizer::Normalize(std::string_view text) const {
  std::string out;
  Normalize(text, &out);
  return out;
}

void TextNormalizer::Normalize(std::string_view text, std::string* out) const {
  // ASCII fast path. For ASCII, NFKC is the identity, case folding is exactly
  // A-Z -> a-z, no character is default-ignorable and none is a mark, so this
  // gives the same result as the utf8proc path (a unit test checks that for
  // every ASCII character). The output is never longer than the input.
  out->resize(text.size());
  char* const begin = out->data();
  char* dst = begin;
  bool pending_space = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      NormalizeUnicode(text, out);
      return;
    }
    if (IsAsciiWhitespace(c)) {
      pending_space = dst != begin;  // no space at the start
      continue;
    }
    if (pending_space) {
      *dst++ = ' ';
      pending_space = false;
    }
    *dst++ = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : ch;
  }
  out->resize(static_cast<size_t>(dst - begin));  // drops any trailing space
}

void TextNormalizer::NormalizeUnicode(std::string_view text, std::string* out) const {
  // Buffers reused across calls, per thread, so that steady-state
  // normalisation allocates nothing but its result.
  thread_local std::string repaired;
  thread_local std::vector<utf8proc_int32_t> code_points;

  // utf8proc rejects ill-formed input as a whole; repair it first (rare).
  if (!IsValidUtf8(text)) {
    RepairUtf8(text, &repaired);
    text = repaired;
  }

  const utf8proc_option_t flags = options_.strip_accents ? kStripAccentsOptions : kBaseOptions;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  // A string has at most as many code points as bytes; decomposition can
  // expand that (rarely), in which case utf8proc reports the size it needs.
  if (code_points.size() < text.size()) code_points.resize(text.size());
  utf8proc_ssize_t count = utf8proc_decompose(
      bytes, size, code_points.data(), static_cast<utf8proc_ssize_t>(code_points.size()), flags);
  if (count > static_cast<utf8proc_ssize_t>(code_points.size())) {
    code_points.resize(static_cast<size_t>(count));
    count = utf8proc_decompose(bytes, size, code_points.data(), count, flags);
  }
  // The input is valid UTF-8 and the options are valid, so neither call can
  // fail; a negative count would be a bug in this file. Fail safe anyway.
  if (count < 0) {
    out->clear();
    return;
  }
  count = utf8proc_normalize_utf32(code_points.data(), count, flags);  // composes in place

  out->clear();
  out->reserve(text.size());
  bool pending_space = false;
  for (utf8proc_ssize_t i = 0; i < count; ++i) {
    const utf8proc_int32_t c = code_points[static_cast<size_t>(i)];
    if (IsWhitespace(c)) {
      pending_space = !out->empty();
      continue;
    }
    if (pending_space) {
      out->push_back(' ');
      pending_space = false;
    }
    utf8proc_uint8_t encoded[4];
    const utf8proc_ssize_t length = utf8proc_encode_char(c, encoded);
    out->append(reinterpret_cast<const char*>(encoded), static_cast<size_t>(length));
  }
}

}  // namespace chatbot::nlu
