// The documents of a YAML file, read with the yaml-cpp of Debian 12 (0.7)
// without YAML::LoadAll: on some malformed input LoadAll never returns, as it
// adds an empty document after another forever (yaml-cpp issue 1040, fixed
// upstream by pull request 1319; found by the training_yml fuzz target).
// Here a parser counts the documents and stops at the second, and the first
// is read by YAML::Load, which reads one document only. Characters YAML
// forbids are refused before parsing, and the escapes yaml-cpp 0.7 reads
// as bytes that are not UTF-8 are repaired after (yaml_documents.cc).
#ifndef CHATBOT_NLU_YAML_DOCUMENTS_H_
#define CHATBOT_NLU_YAML_DOCUMENTS_H_

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

namespace chatbot::nlu {

struct YamlDocuments {
  size_t count = 0;   // 0, 1, or 2 for two or more
  YAML::Node first;   // when count >= 1
  YAML::Mark second;  // where the second document starts, when count == 2
};

// Throws YAML::Exception (with its mark) for malformed YAML, and for a
// character YAML does not allow (a control character other than tab, line
// feed and carriage return, U+FFFE or U+FFFF). `text` is well-formed UTF-8.
YamlDocuments ReadYamlDocuments(const std::string& text);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_YAML_DOCUMENTS_H_
