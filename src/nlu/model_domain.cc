#include "nlu/model_domain.h"

#include <boost/json.hpp>
#include <map>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"
#include "nlu/model_manifest.h"

namespace chatbot::nlu {
namespace json = boost::json;
namespace fs = std::filesystem;

std::string DomainToJson(const TrainingData& data) {
  std::map<std::string, json::array> examples;
  for (const TrainingExample& e : data.examples) {
    json::array& list = examples[e.intent];
    if (list.size() < kDomainExamplesPerIntent) list.push_back(json::string(e.text));
  }
  json::array intents;
  for (const IntentDefinition& intent : data.intents) {
    intents.push_back({{"name", intent.name},
                       {"description", intent.description},
                       {"responses", json::array(intent.responses.begin(), intent.responses.end())},
                       {"examples", std::move(examples[intent.name])}});
  }
  return json::serialize(json::object{{"intents", std::move(intents)}}) + "\n";
}

std::optional<TrainingData> ReadModelDomain(const fs::path& dir) {
  const fs::path file = dir / kDomainFile;
  std::string expected_sha256;
  try {
    const json::value manifest = json::parse(ReadFile(dir / kManifestFile));
    const json::value* entry =
        manifest.as_object().at("files").as_object().if_contains(kDomainFile);
    if (entry == nullptr) return std::nullopt;
    expected_sha256 = std::string(entry->as_object().at("sha256").as_string());
  } catch (const std::exception& e) {
    throw ModelError((dir / kManifestFile).string() + ": cannot read the listing of " +
                     kDomainFile + ": " + WithoutSourceLocation(e.what()));
  }
  std::error_code error;
  if (!fs::exists(file, error)) throw ModelError(file.string() + ": no such file");
  std::string contents;
  try {
    contents = ReadFile(file);
  } catch (const IoError& e) {
    throw ModelError(e.what());
  }
  if (Sha256Hex(contents) != expected_sha256) {
    throw ModelError(file.string() +
                     ": checksum mismatch (the file was damaged or changed after "
                     "training)");
  }
  TrainingData domain;
  try {
    const json::value parsed = json::parse(contents);
    for (const json::value& item : parsed.as_object().at("intents").as_array()) {
      const json::object& intent = item.as_object();
      IntentDefinition definition;
      definition.name = std::string(intent.at("name").as_string());
      definition.description = std::string(intent.at("description").as_string());
      for (const json::value& r : intent.at("responses").as_array()) {
        definition.responses.emplace_back(r.as_string());
      }
      for (const json::value& text : intent.at("examples").as_array()) {
        domain.examples.push_back({std::string(text.as_string()), definition.name,
                                   file.string() + ": intent " + definition.name});
      }
      domain.intents.push_back(std::move(definition));
    }
  } catch (const std::exception& e) {
    throw ModelError(file.string() + ": malformed: " + WithoutSourceLocation(e.what()));
  }
  domain.files.push_back(file);
  return domain;
}

}  // namespace chatbot::nlu
