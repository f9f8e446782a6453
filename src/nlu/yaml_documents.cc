#include "nlu/yaml_documents.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace chatbot::nlu {
namespace {

// Notes where each document starts; ignores the rest.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark start;
};

// The code point of a character YAML does not allow in a stream, or -1.
// YAML 1.2 (section 5.1) allows tab, line feed, carriage return, the
// printable ASCII characters, NEL and the rest of Unicode but for the C1
// controls, surrogates, U+FFFE and U+FFFF; a YAML processor reads nothing
// else. Here `bytes` starts a character of well-formed UTF-8.
long ForbiddenCharacter(std::string_view bytes) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    const bool allowed =
        lead == '\t' || lead == '\n' || lead == '\r' || (lead >= 0x20 && lead < 0x7f);
    return allowed ? -1 : lead;
  }
  if (lead == 0xc2 && bytes.size() > 1 && byte(1) < 0xa0 && byte(1) != 0x85) return byte(1);
  if (lead == 0xef && bytes.size() > 2 && byte(1) == 0xbf && byte(2) >= 0xbe) {
    return 0xffc0 | (byte(2) & 0x3f);
  }
  return -1;
}

// Throws for a character YAML does not allow, with its line:
// yaml-cpp 0.7 reads some of them wrongly (a NUL turns the character after
// it into a lone byte 0x85, which is not UTF-8), and other YAML readers,
// Rasa's included, refuse them too.
void CheckCharacters(std::string_view text) {
  YAML::Mark mark;  // the line is what the loader reports
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') ++mark.line;
    if ((c >= 0x20 && c < 0x7f) || c == '\n' || (c & 0xc0) == 0x80) continue;  // most bytes
    if (const long forbidden = ForbiddenCharacter(text.substr(i)); forbidden >= 0) {
      mark.pos = static_cast<int>(i);
      throw YAML::ParserException(
          mark, fmt::format("character U+{:04X} is not allowed in YAML (write it as an escape "
                            "in a double-quoted string, or remove it)",
                            forbidden));
    }
  }
}

// yaml-cpp 0.7 reads the escapes \N (U+0085) and \_ (U+00A0) of
// double-quoted strings as the lone bytes 0x85 and 0xA0, which are not UTF-8
// (found by the training_yml fuzz target); its other escapes are encoded
// right. Since the file itself is UTF-8, a lone 0x85 or 0xA0 in a string
// can only come from those escapes, and is written as the character's
// UTF-8 (C2 85, C2 A0). Anything else that is not UTF-8 is refused where
// its string is.
void RepairEscapes(YAML::Node node) {
  if (node.IsScalar()) {
    std::string_view rest = node.Scalar();
    size_t bad = 0;
    if (IsValidUtf8(rest, &bad)) return;
    std::string repaired;
    do {
      // The first ill-formed byte: a lone 0x85 or 0xA0 (a continuation byte
      // with no character begun before it) is an escape's.
      const unsigned char c = static_cast<unsigned char>(rest[bad]);
      if (c != 0x85 && c != 0xa0) {
        throw YAML::ParserException(node.Mark(),
                                    "a string that is not UTF-8 once its escapes are read");
      }
      repaired.append(rest.substr(0, bad));
      repaired += '\xc2';
      repaired += static_cast<char>(c);
      rest.remove_prefix(bad + 1);
    } while (!IsValidUtf8(rest, &bad));
    repaired.append(rest);
    node = repaired;
    return;
  }
  if (node.IsSequence()) {
    for (YAML::Node item : node) RepairEscapes(item);
  } else if (node.IsMap()) {
    for (auto item : node) {
      RepairEscapes(item.first);
      RepairEscapes(item.second);
    }
  }
}

}  // namespace

YamlDocuments ReadYamlDocuments(const std::string& text) {
  CheckCharacters(text);
  YamlDocuments documents;
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (documents.count < 2 && parser.HandleNextDocument(starts)) ++documents.count;
  if (documents.count == 2) documents.second = starts.start;
  if (documents.count >= 1) {
    documents.first = YAML::Load(text);
    RepairEscapes(documents.first);
  }
  return documents;
}

}  // namespace chatbot::nlu
