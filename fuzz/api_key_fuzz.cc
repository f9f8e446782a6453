// API key strings (security/api_key.h) as a client presents them in
// Authorization: Bearer. A string that parses is exactly the key its parts
// format back to, its id survives the trip through text, and its hash is
// the same however often it is computed.
#include "fuzz_support.h"
#include "security/api_key.h"

using namespace chatbot;

namespace {

// The format as docs/security.md states it, written independently of the
// parser: "cbk_", 16 lower-case hex digits, "_", 43 base62 characters.
bool WellFormed(std::string_view text) {
  if (text.size() != 4 + 16 + 1 + 43 || !text.starts_with("cbk_") || text[20] != '_') return false;
  for (char c : text.substr(4, 16)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  for (char c : text.substr(21)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::Text(data, size);
  FUZZ_CHECK(security::ParseKey(text).has_value() == WellFormed(text), std::string(text));
  if (const auto parts = security::ParseKey(text)) {
    FUZZ_CHECK(text.size() == security::kKeyLength, std::string(text));
    FUZZ_CHECK(security::FormatKey(parts->id_text, parts->secret) == text, std::string(text));
    const auto id = security::ParseKeyId(parts->id_text);
    FUZZ_CHECK(id && *id == parts->id, std::string(parts->id_text));
    FUZZ_CHECK(security::KeyIdText(parts->id) == parts->id_text, std::string(parts->id_text));
    const security::KeyHash hash = security::HashSecret(parts->id_text, parts->secret);
    FUZZ_CHECK(security::HashEquals(hash, security::HashSecret(parts->id_text, parts->secret)),
               "the hash of one key differs between two computations");
  }
  // Ids: exactly 16 lower-case hex digits, and back to the same text.
  if (const auto id = security::ParseKeyId(text)) {
    FUZZ_CHECK(security::KeyIdText(*id) == text, std::string(text));
  }
  return 0;
}
