#include "nlu/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

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

}  // namespace

YamlDocuments ReadYamlDocuments(const std::string& text) {
  YamlDocuments documents;
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (documents.count < 2 && parser.HandleNextDocument(starts)) ++documents.count;
  if (documents.count == 2) documents.second = starts.start;
  if (documents.count >= 1) documents.first = YAML::Load(text);
  return documents;
}

}  // namespace chatbot::nlu
