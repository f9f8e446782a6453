#include "bert/bert_config.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <utility>

#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

namespace json = boost::json;

json::object ParseObjectFile(const std::filesystem::path& path) {
  const std::string text = ReadFile(path);
  json::error_code error;
  json::value value = json::parse(text, error);
  if (error) throw ModelError(path.string() + ": not valid JSON: " + error.message());
  if (!value.is_object()) throw ModelError(path.string() + ": not a JSON object");
  return std::move(value.as_object());
}

// Typed field readers: an absent (or null) field keeps the default, a field of
// the wrong type is refused with the file and the field named.
void ReadInt(const json::object& o, const char* key, const std::string& source, int* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return;
  double d;
  if (v->is_int64()) {
    d = static_cast<double>(v->as_int64());
  } else if (v->is_uint64()) {
    d = static_cast<double>(v->as_uint64());
  } else if (v->is_double() && std::floor(v->as_double()) == v->as_double()) {
    d = v->as_double();
  } else {
    throw ModelError(source + ": field '" + key + "' must be an integer");
  }
  // Hugging Face writes model_max_length as 1e30 when a tokenizer has no
  // limit; saturate rather than refuse (it is clamped afterwards).
  if (d > std::numeric_limits<int>::max()) d = std::numeric_limits<int>::max();
  if (d < std::numeric_limits<int>::min()) d = std::numeric_limits<int>::min();
  *out = static_cast<int>(d);
}

void ReadFloat(const json::object& o, const char* key, const std::string& source, float* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return;
  if (v->is_double())
    *out = static_cast<float>(v->as_double());
  else if (v->is_int64())
    *out = static_cast<float>(v->as_int64());
  else if (v->is_uint64())
    *out = static_cast<float>(v->as_uint64());
  else
    throw ModelError(source + ": field '" + key + "' must be a number");
}

// Returns false when the field is absent or null.
bool ReadBool(const json::object& o, const char* key, const std::string& source, bool* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) throw ModelError(source + ": field '" + key + "' must be true or false");
  *out = v->as_bool();
  return true;
}

void ReadString(const json::object& o, const char* key, const std::string& source,
                std::string* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return;
  if (!v->is_string()) throw ModelError(source + ": field '" + key + "' must be a string");
  *out = std::string(v->as_string());
}

std::vector<std::string> ReadLabels(const json::object& o, const std::string& source) {
  const json::value* v = o.if_contains("id2label");
  if (v == nullptr || v->is_null()) return {};
  const json::object* map = v->if_object();
  if (map == nullptr) throw ModelError(source + ": field 'id2label' must be an object");
  std::vector<std::string> labels(map->size());
  std::vector<bool> seen(map->size(), false);
  for (const auto& [key, value] : *map) {
    const std::string id_text(key);
    size_t id = 0;
    bool ok = !id_text.empty() && id_text.size() < 10;
    for (char c : id_text) {
      if (c < '0' || c > '9')
        ok = false;
      else
        id = id * 10 + static_cast<size_t>(c - '0');
    }
    if (!ok || id >= labels.size()) {
      throw ModelError(source + ": id2label key '" + id_text + "' is not an id in 0.." +
                       std::to_string(labels.size() - 1) + " (ids must be contiguous from 0)");
    }
    if (seen[id]) throw ModelError(source + ": id2label id " + id_text + " appears twice");
    if (!value.is_string()) {
      throw ModelError(source + ": id2label[" + id_text + "] must be a string");
    }
    seen[id] = true;
    labels[id] = std::string(value.as_string());
  }
  return labels;
}

std::string Quote(const std::string& s) {
  return json::serialize(json::string(s));
}

// A float as its shortest round-trip decimal ("0.1", "1e-12"), as Python
// prints it, rather than the widened double.
std::string Number(float f) {
  std::string s = fmt::format("{}", f);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// `fields` (key, already-serialised JSON value) as an object whose fields
// are indented by `depth` levels of two spaces, the layout Hugging Face's
// save_pretrained produces: the file's object (depth 1) ends with a newline,
// a nested one (depth 2) does not and is "{}" when empty.
std::string IndentedObject(const std::vector<std::pair<std::string, std::string>>& fields,
                           size_t depth) {
  if (depth > 1 && fields.empty()) return "{}";
  const std::string indent(2 * depth, ' ');
  std::string out = "{\n";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += indent + Quote(fields[i].first) + ": " + fields[i].second;
    out += i + 1 < fields.size() ? ",\n" : "\n";
  }
  out += indent.substr(2) + (depth > 1 ? "}" : "}\n");
  return out;
}

}  // namespace

void BertConfig::Validate(const std::string& source) const {
  if (hidden_act != "gelu" && hidden_act != "gelu_python") {
    throw ModelError("unknown activation '" + hidden_act + "' in " + source +
                     ": only gelu is supported");
  }
  const std::pair<const char*, int> positive[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"intermediate_size", intermediate_size},
      {"max_position_embeddings", max_position_embeddings},
      {"type_vocab_size", type_vocab_size},
      {"model_max_length", model_max_length},
  };
  for (const auto& [name, value] : positive) {
    if (value <= 0) {
      throw ModelError(source + ": field '" + name + "' must be positive, got " +
                       std::to_string(value));
    }
  }
  if (hidden_size % num_attention_heads != 0) {
    throw ModelError(source + ": hidden_size " + std::to_string(hidden_size) +
                     " is not a multiple of num_attention_heads " +
                     std::to_string(num_attention_heads));
  }
  if (pad_token_id < 0 || pad_token_id >= vocab_size) {
    throw ModelError(source + ": pad_token_id " + std::to_string(pad_token_id) +
                     " is outside the vocabulary of " + std::to_string(vocab_size));
  }
  if (model_max_length < 2) {
    throw ModelError(source + ": model_max_length " + std::to_string(model_max_length) +
                     " leaves no room for [CLS] and [SEP]");
  }
  if (model_max_length > max_position_embeddings) {
    throw ModelError(source + ": model_max_length " + std::to_string(model_max_length) +
                     " exceeds max_position_embeddings " + std::to_string(max_position_embeddings));
  }
  if (!(layer_norm_eps > 0.0f) || !std::isfinite(layer_norm_eps)) {
    throw ModelError(source + ": field 'layer_norm_eps' must be positive");
  }
  const std::pair<const char*, float> probabilities[] = {
      {"hidden_dropout_prob", hidden_dropout_prob},
      {"attention_probs_dropout_prob", attention_probs_dropout_prob},
  };
  for (const auto& [name, value] : probabilities) {
    if (!(value >= 0.0f && value < 1.0f)) {
      throw ModelError(source + ": field '" + name + "' must be in [0, 1)");
    }
  }
  if (!(initializer_range > 0.0f) || !std::isfinite(initializer_range)) {
    throw ModelError(source + ": field 'initializer_range' must be positive");
  }
}

BertConfig BertConfig::Load(const std::filesystem::path& dir) {
  const std::filesystem::path config_path = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(config_path, ec)) {
    throw ModelError(config_path.string() + ": no such file");
  }
  const std::string source = config_path.string();
  const json::object o = ParseObjectFile(config_path);

  // Absent fields take Hugging Face's BertConfig defaults (bert-base).
  BertConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 768;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.intermediate_size = 3072;
  if (const json::value* type = o.if_contains("model_type");
      type != nullptr && type->is_string() && type->as_string() != "bert") {
    throw ModelError(source + ": model_type '" + std::string(type->as_string()) +
                     "' is not supported (only 'bert')");
  }
  ReadInt(o, "vocab_size", source, &c.vocab_size);
  ReadInt(o, "hidden_size", source, &c.hidden_size);
  ReadInt(o, "num_hidden_layers", source, &c.num_hidden_layers);
  ReadInt(o, "num_attention_heads", source, &c.num_attention_heads);
  ReadInt(o, "intermediate_size", source, &c.intermediate_size);
  ReadString(o, "hidden_act", source, &c.hidden_act);
  ReadFloat(o, "hidden_dropout_prob", source, &c.hidden_dropout_prob);
  ReadFloat(o, "attention_probs_dropout_prob", source, &c.attention_probs_dropout_prob);
  ReadInt(o, "max_position_embeddings", source, &c.max_position_embeddings);
  ReadInt(o, "type_vocab_size", source, &c.type_vocab_size);
  ReadFloat(o, "initializer_range", source, &c.initializer_range);
  ReadFloat(o, "layer_norm_eps", source, &c.layer_norm_eps);
  ReadInt(o, "pad_token_id", source, &c.pad_token_id);
  if (const json::value* type = o.if_contains("position_embedding_type");
      type != nullptr && !(type->is_string() && type->as_string() == "absolute")) {
    throw ModelError(source + ": only position_embedding_type 'absolute' is supported");
  }
  c.labels = ReadLabels(o, source);
  c.do_lower_case = true;
  ReadBool(o, "do_lower_case", source, &c.do_lower_case);
  c.model_max_length = c.max_position_embeddings;

  bool strip_accents_set = false;
  const std::filesystem::path tokenizer_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(tokenizer_path, ec)) {
    const std::string tsource = tokenizer_path.string();
    const json::object t = ParseObjectFile(tokenizer_path);
    ReadBool(t, "do_lower_case", tsource, &c.do_lower_case);
    strip_accents_set = ReadBool(t, "strip_accents", tsource, &c.strip_accents);
    ReadBool(t, "tokenize_chinese_chars", tsource, &c.tokenize_chinese_chars);
    ReadInt(t, "model_max_length", tsource, &c.model_max_length);
    if (c.model_max_length <= 0) {
      throw ModelError(tsource + ": field 'model_max_length' must be positive");
    }
  }
  // strip_accents null follows do_lower_case, as in BasicTokenizer.
  if (!strip_accents_set) c.strip_accents = c.do_lower_case;
  if (c.model_max_length > c.max_position_embeddings && c.max_position_embeddings > 0) {
    c.model_max_length = c.max_position_embeddings;
  }
  c.Validate(source);
  return c;
}

void BertConfig::Save(const std::filesystem::path& dir) const {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("architectures", labels.empty() ? "[\n    \"BertModel\"\n  ]"
                                                 : "[\n    \"BertForSequenceClassification\"\n  ]");
  f.emplace_back("model_type", "\"bert\"");
  f.emplace_back("vocab_size", std::to_string(vocab_size));
  f.emplace_back("hidden_size", std::to_string(hidden_size));
  f.emplace_back("num_hidden_layers", std::to_string(num_hidden_layers));
  f.emplace_back("num_attention_heads", std::to_string(num_attention_heads));
  f.emplace_back("intermediate_size", std::to_string(intermediate_size));
  f.emplace_back("hidden_act", Quote(hidden_act));
  f.emplace_back("hidden_dropout_prob", Number(hidden_dropout_prob));
  f.emplace_back("attention_probs_dropout_prob", Number(attention_probs_dropout_prob));
  f.emplace_back("max_position_embeddings", std::to_string(max_position_embeddings));
  f.emplace_back("type_vocab_size", std::to_string(type_vocab_size));
  f.emplace_back("initializer_range", Number(initializer_range));
  f.emplace_back("layer_norm_eps", Number(layer_norm_eps));
  f.emplace_back("pad_token_id", std::to_string(pad_token_id));
  f.emplace_back("position_embedding_type", "\"absolute\"");
  f.emplace_back("do_lower_case", do_lower_case ? "true" : "false");
  if (!labels.empty()) {
    std::vector<std::pair<std::string, std::string>> id2label, label2id;
    for (size_t i = 0; i < labels.size(); ++i) {
      id2label.emplace_back(std::to_string(i), Quote(labels[i]));
      label2id.emplace_back(labels[i], std::to_string(i));
    }
    f.emplace_back("id2label", IndentedObject(id2label, 2));
    f.emplace_back("label2id", IndentedObject(label2id, 2));
  }
  WriteFileAtomically(dir / "config.json", IndentedObject(f, 1));

  std::vector<std::pair<std::string, std::string>> t;
  t.emplace_back("tokenizer_class", "\"BertTokenizer\"");
  t.emplace_back("do_lower_case", do_lower_case ? "true" : "false");
  t.emplace_back("strip_accents", strip_accents ? "true" : "false");
  t.emplace_back("tokenize_chinese_chars", tokenize_chinese_chars ? "true" : "false");
  t.emplace_back("model_max_length", std::to_string(model_max_length));
  t.emplace_back("unk_token", "\"[UNK]\"");
  t.emplace_back("sep_token", "\"[SEP]\"");
  t.emplace_back("pad_token", "\"[PAD]\"");
  t.emplace_back("cls_token", "\"[CLS]\"");
  t.emplace_back("mask_token", "\"[MASK]\"");
  WriteFileAtomically(dir / "tokenizer_config.json", IndentedObject(t, 1));
}

BertConfig BertConfig::Preset(const std::string& size, int vocab_size, int num_labels) {
  BertConfig c;
  if (size == "tiny") {
    c.num_hidden_layers = 2, c.hidden_size = 128, c.num_attention_heads = 2;
    c.intermediate_size = 512;
  } else if (size == "mini") {
    c.num_hidden_layers = 4, c.hidden_size = 256, c.num_attention_heads = 4;
    c.intermediate_size = 1024;
  } else if (size == "small") {
    c.num_hidden_layers = 4, c.hidden_size = 512, c.num_attention_heads = 8;
    c.intermediate_size = 2048;
  } else {
    throw ConfigError("unknown BERT size '" + size + "' (expected tiny, mini or small)");
  }
  if (vocab_size <= 0) throw ConfigError("BERT vocabulary size must be positive");
  if (num_labels < 0) throw ConfigError("BERT label count must not be negative");
  c.vocab_size = vocab_size;
  c.max_position_embeddings = 128;
  c.model_max_length = 64;
  c.labels.reserve(num_labels);
  for (int i = 0; i < num_labels; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  return c;
}

}  // namespace chatbot::bert
