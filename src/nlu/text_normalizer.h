// Unicode-aware text normalisation, applied to every text before features are
// extracted, at training and at prediction time alike: NFKC (so "ﬁ" and "fi",
// full-width and ASCII digits compare equal), case folding (not just
// lower-casing: "Straße" and "STRASSE" fold together) and, optionally, accent
// stripping ("café" -> "cafe"). Whitespace runs collapse to one space and the
// ends are trimmed.
#ifndef CHATBOT_NLU_TEXT_NORMALIZER_H_
#define CHATBOT_NLU_TEXT_NORMALIZER_H_

#include <string>
#include <string_view>

namespace chatbot::nlu {

struct NormalizationOptions {
  bool strip_accents = false;
};

class TextNormalizer {
 public:
  explicit TextNormalizer(NormalizationOptions options = {});

  // Never throws: invalid UTF-8 sequences become U+FFFD. Plain ASCII takes a
  // fast path (it is the common case on the hot prediction path).
  std::string Normalize(std::string_view text) const;

  const NormalizationOptions& options() const { return options_; }

 private:
  NormalizationOptions options_;
};

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF). When false and `error_offset` is given, it receives the
// byte offset of the first bad sequence.
bool IsValidUtf8(std::string_view text, size_t* error_offset = nullptr);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_TEXT_NORMALIZER_H_
