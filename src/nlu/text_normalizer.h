// Unicode-aware text normalisation, applied to every text before features are
// extracted, at training and at prediction time alike: NFKC (so "ﬁ" and "fi",
// full-width and ASCII digits compare equal), case folding (not just
// lower-casing: "Straße" and "STRASSE" fold together) and, optionally, accent
// stripping ("café" -> "cafe"). Whitespace runs collapse to one space and the
// ends are trimmed.
//
// Details other code may rely on:
//  - "Whitespace" is the Unicode White_Space property (ASCII \t \n \v \f \r and
//    space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
//    U+205F, U+3000); U+001C..U+001F and other control characters are kept.
//  - Default-ignorable code points (soft hyphen, zero-width space and joiners,
//    variation selectors, BOM) are removed, as in Unicode's NFKC_Casefold.
//  - Accent stripping removes every combining mark (Mn, Mc, Me), which also
//    removes vowel signs of scripts such as Devanagari; hence it is optional.
//  - Invalid UTF-8 is replaced by U+FFFD, one per maximal ill-formed subpart
//    (the Unicode Standard's recommended practice).
#ifndef CHATBOT_NLU_TEXT_NORMALIZER_H_
#define CHATBOT_NLU_TEXT_NORMALIZER_H_

#include <string>
#include <string_view>

#include "common/utf8.h"

namespace chatbot::nlu {

struct NormalizationOptions {
  bool strip_accents = false;
};

// Thread-safe: Normalize may be called concurrently on one instance.
class TextNormalizer {
 public:
  explicit TextNormalizer(NormalizationOptions options = {});

  // Never throws: invalid UTF-8 sequences become U+FFFD. Plain ASCII takes a
  // fast path (it is the common case on the hot prediction path).
  std::string Normalize(std::string_view text) const;

  // As above, but writes into `*out` (replacing its contents), so that a
  // caller normalising many texts can reuse one buffer. `text` must not
  // point into `*out`.
  void Normalize(std::string_view text, std::string* out) const;

  const NormalizationOptions& options() const { return options_; }

 private:
  // The utf8proc path, for text that is not pure ASCII.
  void NormalizeUnicode(std::string_view text, std::string* out) const;

  NormalizationOptions options_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TEXT_NORMALIZER_H_
