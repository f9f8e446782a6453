#include "use/tfjs_package.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/sha256.h"
#include "use/use_encoder.h"
#include "use/vocabulary_json.h"

namespace chatbot::use {
namespace fs = std::filesystem;
namespace {

constexpr const char* kApply = "module_apply_default/Encoder_en/KonaTransformer/";
constexpr const char* kModule = "module/Encoder_en/KonaTransformer/";

std::string ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot be read (is the package fetched?)");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct RawWeight {
  std::vector<int64_t> shape;
  std::vector<float> floats;
  std::vector<int32_t> ints;
};

// The weights of model.json, decoded from the concatenated shards.
std::map<std::string, RawWeight> DecodeWeights(const fs::path& dist,
                                               const boost::json::object& model,
                                               std::map<std::string, std::string>* sha256) {
  const std::string where = (dist / "model.json").string();
  const auto* groups = model.if_contains("weightsManifest");
  if (groups == nullptr || !groups->is_array()) throw ModelError(where + ": no weightsManifest");
  std::map<std::string, RawWeight> weights;
  for (const auto& group_value : groups->as_array()) {
    const auto& group = group_value.as_object();
    std::string bytes;
    for (const auto& path : group.at("paths").as_array()) {
      const std::string name(path.as_string());
      if (name.find('/') != std::string::npos || name.starts_with(".")) {
        throw ModelError(where + ": shard path '" + name + "' leaves the package");
      }
      const std::string shard = ReadWhole(dist / name);
      (*sha256)[name] = Sha256Hex(shard);
      bytes += shard;
    }
    size_t offset = 0;
    for (const auto& spec_value : group.at("weights").as_array()) {
      const auto& spec = spec_value.as_object();
      const std::string name(spec.at("name").as_string());
      const std::string dtype(spec.at("dtype").as_string());
      if (spec.contains("quantization")) {
        throw ModelError(where + ": weight " + name + " is quantized, which is not supported");
      }
      RawWeight weight;
      int64_t count = 1;
      for (const auto& d : spec.at("shape").as_array()) {
        weight.shape.push_back(d.to_number<int64_t>());
        count *= weight.shape.back();
      }
      if (dtype != "float32" && dtype != "int32") {
        throw ModelError(where + ": weight " + name + " has dtype " + dtype +
                         " (float32 and int32 are supported)");
      }
      const size_t size = static_cast<size_t>(count) * 4;
      if (count < 0 || offset + size > bytes.size()) {
        throw ModelError(where + ": weight " + name + " runs past the end of its shards");
      }
      if (dtype == "float32") {
        weight.floats.resize(static_cast<size_t>(count));
        std::memcpy(weight.floats.data(), bytes.data() + offset, size);
      } else {
        weight.ints.resize(static_cast<size_t>(count));
        std::memcpy(weight.ints.data(), bytes.data() + offset, size);
      }
      offset += size;
      weights[name] = std::move(weight);
    }
    if (offset != bytes.size()) {
      throw ModelError(where + ": the shards hold " + std::to_string(bytes.size()) +
                       " bytes, the manifest lists " + std::to_string(offset));
    }
  }
  return weights;
}

const RawWeight& Find(const std::map<std::string, RawWeight>& weights, const std::string& name,
                      const std::string& where) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw ModelError(where + ": the graph has no weight " + name);
  return it->second;
}

// A [.., in, out] kernel as a [out, in] tensor.
bert::Tensor Transposed(const RawWeight& w, const std::string& what) {
  if (w.shape.size() < 2 || w.floats.empty()) throw ModelError(what + " is not a float matrix");
  const int64_t in = w.shape[w.shape.size() - 2];
  const int64_t out = w.shape.back();
  bert::Tensor t;
  t.shape = {out, in};
  t.values.resize(static_cast<size_t>(in * out));
  for (int64_t i = 0; i < in; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      t.values[static_cast<size_t>(o * in + i)] = w.floats[static_cast<size_t>(i * out + o)];
    }
  }
  return t;
}

bert::Tensor Vector(const RawWeight& w) {
  bert::Tensor t;
  t.values = w.floats;
  t.shape = {static_cast<int64_t>(w.floats.size())};
  return t;
}

void ExpectConstant(const std::map<std::string, RawWeight>& weights, const std::string& name,
                    double expected, const std::string& where) {
  const RawWeight& w = Find(weights, name, where);
  const double value = !w.floats.empty() ? w.floats[0] : !w.ints.empty() ? w.ints[0] : NAN;
  if (!(std::fabs(value - expected) <= 1e-6 * std::fabs(expected))) {
    throw ModelError(where + ": " + name + " is " + std::to_string(value) + ", the encoder uses " +
                     std::to_string(expected) + ": not the graph this encoder implements");
  }
}

}  // namespace

fs::path DefaultPackageDir() {
  if (const char* explicit_dir = std::getenv("CHATBOT_USE_PACKAGE");
      explicit_dir && *explicit_dir) {
    return explicit_dir;
  }
  fs::path cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    cache = xdg;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    cache = fs::path(home) / ".cache";
  } else {
    cache = ".cache";
  }
  return cache / "chatbot" / "npm" / "node_modules" / "@energetic-ai" / "model-embeddings-en";
}

TfjsPackage ReadTfjsPackage(const fs::path& dir) {
  const fs::path dist = fs::exists(dir / "dist" / "model.json") ? dir / "dist" : dir;
  const fs::path package_json = dist.parent_path() / "package.json";
  TfjsPackage package;
  if (fs::exists(package_json)) {
    boost::system::error_code error;
    const auto meta = boost::json::parse(ReadWhole(package_json), error);
    if (!error && meta.is_object()) {
      const auto& o = meta.as_object();
      auto text = [&](const char* key) {
        const auto* v = o.if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      package.name = text("name");
      package.version = text("version");
      package.license = text("license");
    }
  }

  const std::string where = (dist / "model.json").string();
  const std::string model_text = ReadWhole(dist / "model.json");
  package.source_sha256["model.json"] = Sha256Hex(model_text);
  boost::system::error_code error;
  const auto model = boost::json::parse(model_text, error);
  if (error || !model.is_object()) throw ModelError(where + ": not a JSON object");
  const auto weights = DecodeWeights(dist, model.as_object(), &package.source_sha256);

  const std::string apply = kApply;
  const std::string stack = apply + "Encode/TransformerStack/";
  ExpectConstant(weights,
                 stack + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x",
                 1e-6, where);
  ExpectConstant(weights,
                 stack +
                     "Layer_1/TransformerLayer/MultiheadAttention/split_heads/"
                     "split_last_dimension/Reshape/shape/2",
                 4, where);
  ExpectConstant(weights, apply + "ClipToMaxLength/Less/y", kMaxTokens, where);
  ExpectConstant(weights, "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y",
                 1e-12, where);

  auto& t = package.tensors;
  const RawWeight& embeddings = Find(weights, "module/Embeddings_en", where);
  t["embeddings"] = Vector(embeddings);
  t["embeddings"].shape = embeddings.shape;
  t["timing.inv_timescales"] =
      Vector(Find(weights, stack + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", where));
  t["pooler.weight"] = Transposed(
      Find(weights, "module/Encoder_en/hidden_layers/tanh_layer_0/weights", where), "the pooler");
  t["pooler.bias"] =
      Vector(Find(weights, "module/Encoder_en/hidden_layers/tanh_layer_0/bias", where));
  for (int l = 0; l < 2; ++l) {
    const std::string layer = "Layer_" + std::to_string(l) + "/TransformerLayer/";
    const std::string vars = apply + "Encode/" + layer;  // biases, norms
    const std::string kernels = std::string(kModule) + "Encode/" + layer;
    const std::string ops = stack + layer;
    const std::string p = "layer_" + std::to_string(l) + ".";
    const std::string norm = "layer_prepostprocess/layer_norm/layer_norm_";
    auto vec = [&](const std::string& name) { return Vector(Find(weights, name, where)); };
    auto mat = [&](const std::string& name) {
      return Transposed(Find(weights, name, where), name);
    };
    t[p + "attention.norm.scale"] = vec(vars + norm + "scale/ConcatPartitions/concat");
    t[p + "attention.norm.bias"] = vec(vars + norm + "bias/ConcatPartitions/concat");
    t[p + "attention.qkv.weight"] =
        mat(kernels + "MultiheadAttention/qkv_transform_single/kernel/part_0");
    t[p + "attention.qkv.bias"] =
        vec(vars + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat");
    t[p + "attention.query_scale"] = vec(ops + "MultiheadAttention/mul/y");
    t[p + "attention.output.weight"] =
        mat(kernels + "MultiheadAttention/output_transform_single/kernel/part_0");
    t[p + "attention.output.bias"] =
        vec(vars + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat");
    if (weights.count(vars + "dense/kernel/ConcatPartitions/concat") != 0) {
      t[p + "residual.weight"] = mat(vars + "dense/kernel/ConcatPartitions/concat");
      t[p + "residual.bias"] = vec(vars + "dense/bias/ConcatPartitions/concat");
    }
    t[p + "ffn.norm.scale"] = vec(vars + "FFN/" + norm + "scale/ConcatPartitions/concat");
    t[p + "ffn.norm.bias"] = vec(vars + "FFN/" + norm + "bias/ConcatPartitions/concat");
    t[p + "ffn.inner.weight"] = mat(ops + "FFN/conv1/Tensordot/Reshape_1");
    t[p + "ffn.inner.bias"] = vec(vars + "FFN/conv1/bias/ConcatPartitions/concat");
    t[p + "ffn.outer.weight"] = mat(ops + "FFN/conv2/Tensordot/Reshape_1");
    t[p + "ffn.outer.bias"] = vec(vars + "FFN/conv2/bias/ConcatPartitions/concat");
  }
  for (const auto& spec : UseEncoder::TensorSpecs()) {
    const auto it = t.find(spec.name);
    bool ok = it != t.end() && it->second.shape.size() == spec.shape.size();
    for (size_t d = 0; ok && d < spec.shape.size(); ++d) {
      ok = spec.shape[d] < 0 || spec.shape[d] == it->second.shape[d];
    }
    if (!ok) throw ModelError(where + ": " + spec.name + " does not have the encoder's shape");
  }

  const std::string vocab_text = ReadWhole(dist / "vocab.json");
  package.source_sha256["vocab.json"] = Sha256Hex(vocab_text);
  package.vocabulary = ParseVocabularyJson(vocab_text, (dist / "vocab.json").string());
  return package;
}

}  // namespace chatbot::use
