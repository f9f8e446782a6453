// The part of the training data a model directory carries for the
// dialogue, so that a model directory serves on its own (`chatbot serve
// --models DIR`): every intent's name, description and responses (the
// replies, and the names clarifying questions use), and the first few
// examples of each intent (the chat pages' suggested questions).
//
// domain.json: {"intents": [{"name", "description", "responses",
// "examples"}]}, listed in the manifest with its checksum like every other
// file of the model.
#ifndef CHATBOT_NLU_MODEL_DOMAIN_H_
#define CHATBOT_NLU_MODEL_DOMAIN_H_

#include <filesystem>
#include <optional>
#include <string>

#include "nlu/training_data.h"

namespace chatbot::nlu {

inline constexpr const char* kDomainFile = "domain.json";

// Examples kept per intent (the first ones, in data order).
inline constexpr size_t kDomainExamplesPerIntent = 5;

// domain.json's contents for `data`.
std::string DomainToJson(const TrainingData& data);

// The domain stored in model directory `dir`, checked against the checksum
// its manifest records; nullopt when the manifest lists no domain.json.
// Throws ModelError naming the file when it is missing, damaged or
// malformed.
std::optional<TrainingData> ReadModelDomain(const std::filesystem::path& dir);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_MODEL_DOMAIN_H_
