#include "bert/safetensors.h"

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>
#include <system_error>

#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

// Hugging Face's reference implementation refuses headers above 100 MB; a
// larger length is a damaged file, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

enum class DType { kF32, kF16, kBF16, kI64, kI32 };

bool ParseDType(std::string_view name, DType* dtype) {
  if (name == "F32")
    *dtype = DType::kF32;
  else if (name == "F16")
    *dtype = DType::kF16;
  else if (name == "BF16")
    *dtype = DType::kBF16;
  else if (name == "I64")
    *dtype = DType::kI64;
  else if (name == "I32")
    *dtype = DType::kI32;
  else
    return false;
  return true;
}

uint64_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kI64:
      return 8;
  }
  return 0;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;  // signed zero
    } else {
      // Subnormal: normalise the mantissa.
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

[[noreturn]] void Fail(const std::filesystem::path& path, const std::string& reason) {
  throw ModelError(path.string() + ": " + reason);
}

[[noreturn]] void FailTensor(const std::filesystem::path& path, const std::string& name,
                             const std::string& reason) {
  throw ModelError(path.string() + ": tensor '" + name + "': " + reason);
}

uint64_t ToUnsigned(const boost::json::value& v, bool* ok) {
  if (const auto* u = v.if_uint64()) return *u;
  if (const auto* i = v.if_int64()) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
  }
  *ok = false;
  return 0;
}

Entry ParseEntry(const std::filesystem::path& path, const std::string& name,
                 const boost::json::value& value) {
  Entry entry;
  entry.name = name;
  const auto* object = value.if_object();
  if (object == nullptr) FailTensor(path, name, "header entry is not an object");
  const auto* dtype = object->if_contains("dtype");
  const auto* shape = object->if_contains("shape");
  const auto* offsets = object->if_contains("data_offsets");
  if (dtype == nullptr || !dtype->is_string()) FailTensor(path, name, "missing string 'dtype'");
  if (shape == nullptr || !shape->is_array()) FailTensor(path, name, "missing array 'shape'");
  if (offsets == nullptr || !offsets->is_array() || offsets->as_array().size() != 2) {
    FailTensor(path, name, "'data_offsets' must be an array of two integers");
  }
  const std::string dtype_name(dtype->as_string());
  if (!ParseDType(dtype_name, &entry.dtype)) {
    FailTensor(path, name,
               "unsupported dtype '" + dtype_name + "' (supported: F32, F16, BF16, I64, I32)");
  }
  // The element count, guarded against overflow: a damaged shape must not
  // wrap around into a plausible size.
  uint64_t numel = 1;
  for (const auto& dim : shape->as_array()) {
    bool ok = true;
    const uint64_t d = ToUnsigned(dim, &ok);
    if (!ok || d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      FailTensor(path, name, "shape holds a value that is not a non-negative integer");
    }
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / d) {
      FailTensor(path, name, "shape is implausibly large");
    }
    numel *= d;
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  bool ok = true;
  entry.begin = ToUnsigned(offsets->as_array()[0], &ok);
  entry.end = ToUnsigned(offsets->as_array()[1], &ok);
  if (!ok) FailTensor(path, name, "'data_offsets' must be non-negative integers");
  if (entry.end < entry.begin) {
    FailTensor(path, name,
               "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                   "] end before they begin");
  }
  const uint64_t expected = numel * DTypeSize(entry.dtype);
  if (entry.end - entry.begin != expected) {
    FailTensor(path, name,
               "holds " + std::to_string(entry.end - entry.begin) + " bytes but its shape and " +
                   dtype_name + " need " + std::to_string(expected));
  }
  return entry;
}

void ReadExactly(std::ifstream& in, const std::filesystem::path& path, uint64_t offset, char* dest,
                 uint64_t bytes) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(dest, static_cast<std::streamsize>(bytes));
  if (!in || static_cast<uint64_t>(in.gcount()) != bytes) {
    throw IoError(path.string() + ": read failed at byte " + std::to_string(offset));
  }
}

Tensor Decode(std::ifstream& in, const std::filesystem::path& path, const Entry& entry,
              uint64_t data_start) {
  Tensor tensor;
  tensor.shape = entry.shape;
  const uint64_t bytes = entry.end - entry.begin;
  const uint64_t count = bytes / DTypeSize(entry.dtype);
  const uint64_t offset = data_start + entry.begin;
  switch (entry.dtype) {
    case DType::kF32:
      tensor.values.resize(count);
      if (bytes)
        ReadExactly(in, path, offset, reinterpret_cast<char*>(tensor.values.data()), bytes);
      break;
    case DType::kI64:
      tensor.is_integer = true;
      tensor.ints.resize(count);
      if (bytes) ReadExactly(in, path, offset, reinterpret_cast<char*>(tensor.ints.data()), bytes);
      break;
    case DType::kI32: {
      tensor.is_integer = true;
      std::vector<int32_t> raw(count);
      if (bytes) ReadExactly(in, path, offset, reinterpret_cast<char*>(raw.data()), bytes);
      tensor.ints.assign(raw.begin(), raw.end());
      break;
    }
    case DType::kF16:
    case DType::kBF16: {
      std::vector<uint16_t> raw(count);
      if (bytes) ReadExactly(in, path, offset, reinterpret_cast<char*>(raw.data()), bytes);
      tensor.values.resize(count);
      for (uint64_t i = 0; i < count; ++i) {
        tensor.values[i] = entry.dtype == DType::kF16
                               ? HalfToFloat(raw[i])
                               : std::bit_cast<float>(static_cast<uint32_t>(raw[i]) << 16);
      }
      break;
    }
  }
  return tensor;
}

}  // namespace

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafeTensorsFile SafeTensorsFile::Read(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) Fail(path, "no such file");
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(path.string() + ": cannot read size: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open for reading");

  if (file_size < 8) Fail(path, "file is truncated: no 8-byte header length");
  uint64_t header_size = 0;
  ReadExactly(in, path, 0, reinterpret_cast<char*>(&header_size), 8);
  if (header_size > kMaxHeaderBytes) {
    Fail(path, "implausible header length " + std::to_string(header_size));
  }
  if (header_size > file_size - 8) {
    Fail(path, "file is truncated: header length " + std::to_string(header_size) + " exceeds the " +
                   std::to_string(file_size - 8) + " bytes after it");
  }
  std::string header(header_size, '\0');
  if (header_size) ReadExactly(in, path, 8, header.data(), header_size);
  if (header.empty() || header.front() != '{') Fail(path, "header is not a JSON object");

  boost::json::error_code json_error;
  const boost::json::value root = boost::json::parse(header, json_error);
  if (json_error) Fail(path, "header is not valid JSON: " + json_error.message());
  const auto* object = root.if_object();
  if (object == nullptr) Fail(path, "header is not a JSON object");

  SafeTensorsFile file;
  file.path_ = path;
  std::vector<Entry> entries;
  for (const auto& [key, value] : *object) {
    const std::string name(key);
    if (name == "__metadata__") {
      const auto* meta = value.if_object();
      if (meta == nullptr) Fail(path, "'__metadata__' is not an object");
      for (const auto& [mk, mv] : *meta) {
        if (!mv.is_string()) {
          Fail(path, "'__metadata__' value of '" + std::string(mk) + "' is not a string");
        }
        file.metadata_[std::string(mk)] = std::string(mv.as_string());
      }
      continue;
    }
    entries.push_back(ParseEntry(path, name, value));
  }

  // The data section must be covered exactly, without gaps or overlaps, as
  // the reference implementation requires.
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected_begin = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != expected_begin) {
      FailTensor(path, e->name,
                 "data_offsets begin at " + std::to_string(e->begin) + ", expected " +
                     std::to_string(expected_begin) + " (tensors overlap or leave a gap)");
    }
    if (e->end > data_size) {
      FailTensor(path, e->name,
                 "file is truncated: data ends at byte " + std::to_string(e->end) +
                     " of a data section of " + std::to_string(data_size) + " bytes");
    }
    expected_begin = e->end;
  }
  if (expected_begin != data_size) {
    Fail(path, "data section holds " + std::to_string(data_size) + " bytes but the tensors cover " +
                   std::to_string(expected_begin));
  }

  for (const Entry* e : by_offset) {
    if (file.tensors_.count(e->name)) FailTensor(path, e->name, "appears twice in the header");
    file.tensors_.emplace(e->name, Decode(in, path, *e, data_start));
  }
  return file;
}

const Tensor& SafeTensorsFile::Get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelError(path_.string() + ": no tensor '" + name + "'");
  return it->second;
}

void WriteSafeTensors(const std::filesystem::path& path,
                      const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  WriteFileAtomically(path, SerializeSafeTensors(path.string(), tensors, metadata));
}

std::string SerializeSafeTensors(const std::string& where,
                                 const std::map<std::string, Tensor>& tensors,
                                 const std::map<std::string, std::string>& metadata) {
  // Hugging Face writes "__metadata__" first and then the tensors; with a
  // std::map both are in sorted order, so the output is deterministic.
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : metadata) meta[k] = v;
    header += "\"__metadata__\":" + boost::json::serialize(meta);
    first = false;
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    for (int64_t d : tensor.shape) {
      if (d < 0) throw ModelError(where + ": tensor '" + name + "' has a negative dimension");
    }
    const uint64_t count = tensor.is_integer ? tensor.ints.size() : tensor.values.size();
    if (static_cast<int64_t>(count) != tensor.numel()) {
      throw ModelError(where + ": tensor '" + name + "' holds " + std::to_string(count) +
                       " values but its shape needs " + std::to_string(tensor.numel()));
    }
    const uint64_t bytes = count * (tensor.is_integer ? sizeof(int64_t) : sizeof(float));
    boost::json::object entry;
    entry["dtype"] = tensor.is_integer ? "I64" : "F32";
    boost::json::array shape;
    for (int64_t d : tensor.shape) shape.push_back(d);
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = boost::json::array{offset, offset + bytes};
    if (!first) header += ',';
    first = false;
    header += boost::json::serialize(boost::json::string(name)) + ":";
    // Keys in the order of the reference implementation.
    header += "{\"dtype\":" + boost::json::serialize(entry["dtype"]) +
              ",\"shape\":" + boost::json::serialize(entry["shape"]) +
              ",\"data_offsets\":" + boost::json::serialize(entry["data_offsets"]) + "}";
    offset += bytes;
  }
  header += '}';
  // Pad with spaces to a multiple of 8 so the data section is aligned, as the
  // reference implementation does.
  while (header.size() % 8 != 0) header += ' ';

  std::string out;
  out.reserve(8 + header.size() + offset);
  const uint64_t header_size = header.size();
  out.append(reinterpret_cast<const char*>(&header_size), 8);
  out += header;
  for (const auto& [name, tensor] : tensors) {
    if (tensor.is_integer) {
      out.append(reinterpret_cast<const char*>(tensor.ints.data()),
                 tensor.ints.size() * sizeof(int64_t));
    } else {
      out.append(reinterpret_cast<const char*>(tensor.values.data()),
                 tensor.values.size() * sizeof(float));
    }
  }
  return out;
}

}  // namespace chatbot::bert
