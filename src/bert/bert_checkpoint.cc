#include "bert/bert_checkpoint.h"

#include <algorithm>
#include <system_error>

#include "common/error.h"

namespace chatbot::bert {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "bert.";

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void Replace(std::string* s, std::string_view from, std::string_view to) {
  if (s->ends_with(from)) s->replace(s->size() - from.size(), from.size(), to);
}

// The canonical name of a stored tensor, or "" for one to ignore.
std::string Canonical(const std::string& stored) {
  std::string name = stored;
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  if (name.starts_with("cls.") || name == "embeddings.position_ids" ||
      name == "embeddings.token_type_ids") {
    return "";
  }
  if (name.find("LayerNorm.") != std::string::npos) {
    Replace(&name, "LayerNorm.gamma", "LayerNorm.weight");
    Replace(&name, "LayerNorm.beta", "LayerNorm.bias");
  }
  return name;
}

// Parses "encoder.layer.<i>.<rest>" into i and rest; false for other names.
bool SplitLayerName(const std::string& name, int* layer, std::string* rest) {
  constexpr std::string_view kLayer = "encoder.layer.";
  if (!name.starts_with(kLayer)) return false;
  const size_t dot = name.find('.', kLayer.size());
  if (dot == std::string::npos || dot == kLayer.size() || dot - kLayer.size() > 6) return false;
  int value = 0;
  for (size_t i = kLayer.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + (name[i] - '0');
  }
  if (dot - kLayer.size() > 1 && name[kLayer.size()] == '0') return false;  // "01"
  *layer = value;
  *rest = name.substr(dot + 1);
  return true;
}

}  // namespace

bool BertCheckpoint::has_classifier() const {
  return tensors.count("classifier.weight") != 0 && tensors.count("classifier.bias") != 0;
}

std::vector<std::string> BertCheckpoint::ExpectedTensorNames(const BertConfig& config,
                                                             bool with_classifier) {
  std::vector<std::string> names = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
  };
  static const char* const kLayerParts[] = {
      "attention.self.query.weight",
      "attention.self.query.bias",
      "attention.self.key.weight",
      "attention.self.key.bias",
      "attention.self.value.weight",
      "attention.self.value.bias",
      "attention.output.dense.weight",
      "attention.output.dense.bias",
      "attention.output.LayerNorm.weight",
      "attention.output.LayerNorm.bias",
      "intermediate.dense.weight",
      "intermediate.dense.bias",
      "output.dense.weight",
      "output.dense.bias",
      "output.LayerNorm.weight",
      "output.LayerNorm.bias",
  };
  for (int layer = 0; layer < config.num_hidden_layers; ++layer) {
    for (const char* part : kLayerParts) {
      names.push_back("encoder.layer." + std::to_string(layer) + "." + part);
    }
  }
  names.push_back("pooler.dense.weight");
  names.push_back("pooler.dense.bias");
  if (with_classifier) {
    names.push_back("classifier.weight");
    names.push_back("classifier.bias");
  }
  return names;
}

std::vector<int64_t> BertCheckpoint::ExpectedShape(const BertConfig& config,
                                                   const std::string& name) {
  const int64_t h = config.hidden_size;
  const int64_t inter = config.intermediate_size;
  if (name == "embeddings.word_embeddings.weight") return {config.vocab_size, h};
  if (name == "embeddings.position_embeddings.weight") return {config.max_position_embeddings, h};
  if (name == "embeddings.token_type_embeddings.weight") return {config.type_vocab_size, h};
  if (name == "embeddings.LayerNorm.weight" || name == "embeddings.LayerNorm.bias") return {h};
  if (name == "pooler.dense.weight") return {h, h};
  if (name == "pooler.dense.bias") return {h};
  const auto labels = static_cast<int64_t>(config.labels.size());
  if (name == "classifier.weight") return {labels, h};
  if (name == "classifier.bias") return {labels};
  int layer = 0;
  std::string part;
  if (SplitLayerName(name, &layer, &part) && layer < config.num_hidden_layers) {
    if (part == "attention.self.query.weight" || part == "attention.self.key.weight" ||
        part == "attention.self.value.weight" || part == "attention.output.dense.weight") {
      return {h, h};
    }
    if (part == "attention.self.query.bias" || part == "attention.self.key.bias" ||
        part == "attention.self.value.bias" || part == "attention.output.dense.bias" ||
        part == "attention.output.LayerNorm.weight" || part == "attention.output.LayerNorm.bias" ||
        part == "output.dense.bias" || part == "output.LayerNorm.weight" ||
        part == "output.LayerNorm.bias") {
      return {h};
    }
    if (part == "intermediate.dense.weight") return {inter, h};
    if (part == "intermediate.dense.bias") return {inter};
    if (part == "output.dense.weight") return {h, inter};
  }
  throw ModelError("tensor '" + name + "' is not part of a BERT encoder with " +
                   std::to_string(config.num_hidden_layers) + " layers");
}

void BertCheckpoint::Validate(const std::string& source) const {
  const bool classifier = tensors.count("classifier.weight") || tensors.count("classifier.bias");
  const std::vector<std::string> expected = ExpectedTensorNames(config, classifier);
  for (const std::string& name : expected) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw ModelError(source + ": tensor '" + name + "' is missing");
    const Tensor& tensor = it->second;
    if (tensor.is_integer) {
      throw ModelError(source + ": tensor '" + name + "' holds integers, expected floats");
    }
    const std::vector<int64_t> shape = ExpectedShape(config, name);
    if (tensor.shape != shape) {
      if (name.starts_with("classifier.")) {
        throw ModelError(source + ": tensor '" + name + "' has shape " + ShapeText(tensor.shape) +
                         ", expected " + ShapeText(shape) + " from the " +
                         std::to_string(config.labels.size()) +
                         " labels of id2label in config.json");
      }
      throw ModelError(source + ": tensor '" + name + "' has shape " + ShapeText(tensor.shape) +
                       ", expected " + ShapeText(shape) + " from config.json");
    }
    if (static_cast<int64_t>(tensor.values.size()) != tensor.numel()) {
      throw ModelError(source + ": tensor '" + name + "' holds " +
                       std::to_string(tensor.values.size()) + " values for shape " +
                       ShapeText(tensor.shape));
    }
  }
  if (tensors.size() != expected.size()) {
    for (const auto& [name, tensor] : tensors) {
      if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
        throw ModelError(source + ": unexpected tensor '" + name + "' (not part of the " +
                         std::to_string(config.num_hidden_layers) +
                         "-layer architecture of config.json)");
      }
    }
  }
  if (vocab.size() != config.vocab_size) {
    throw ModelError(source + ": vocabulary size disagrees with embeddings: vocab.txt has " +
                     std::to_string(vocab.size()) + " tokens, config.json vocab_size is " +
                     std::to_string(config.vocab_size) + " and word_embeddings has " +
                     std::to_string(tensors.at("embeddings.word_embeddings.weight").shape[0]) +
                     " rows");
  }
}

BertCheckpoint BertCheckpoint::Load(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ModelError(dir.string() + ": no such model directory");
  for (const char* file : {"config.json", "vocab.txt", "model.safetensors"}) {
    if (!fs::exists(dir / file, ec)) {
      throw ModelError((dir / file).string() + ": no such file (a BERT checkpoint needs " +
                       "config.json, vocab.txt and model.safetensors)");
    }
  }
  BertCheckpoint checkpoint;
  checkpoint.config = BertConfig::Load(dir);
  checkpoint.vocab = Vocabulary::Load(dir / "vocab.txt");
  const fs::path weights_path = dir / "model.safetensors";
  SafeTensorsFile file = SafeTensorsFile::Read(weights_path);
  const std::string source = weights_path.string();
  std::map<std::string, std::string> stored_name;  // canonical -> as stored
  for (auto& [name, tensor] : file.mutable_tensors()) {
    std::string canonical = Canonical(name);
    if (canonical.empty()) continue;
    const auto [it, inserted] = stored_name.emplace(canonical, name);
    if (!inserted) {
      throw ModelError(source + ": tensors '" + it->second + "' and '" + name +
                       "' are the same parameter");
    }
    checkpoint.tensors.emplace(std::move(canonical), std::move(tensor));
  }
  checkpoint.Validate(source);
  return checkpoint;
}

void BertCheckpoint::Save(const fs::path& dir) const {
  Validate(dir.string());
  std::map<std::string, Tensor> stored;
  for (const auto& [name, tensor] : tensors) {
    stored.emplace(name.starts_with("classifier.") ? name : std::string(kPrefix) + name, tensor);
  }
  config.Save(dir);
  vocab.Save(dir / "vocab.txt");
  // transformers refuses a safetensors file whose metadata lacks the format.
  WriteSafeTensors(dir / "model.safetensors", stored, {{"format", "pt"}});
}

}  // namespace chatbot::bert
