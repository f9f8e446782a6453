// The safetensors file format (Hugging Face): an 8-byte little-endian header
// length, a JSON header mapping each tensor name to {dtype, shape,
// data_offsets} (plus an optional "__metadata__" object of strings), then the
// raw little-endian tensor data.
//
// Floating-point tensors (F32, F16, BF16) are read as float32, integer tensors
// (I64, I32) as int64, so the rest of the engine sees two element types only.
// Every offset, shape and size is checked against the file: a truncated or
// inconsistent file is refused with a ModelError naming the file and tensor.
#ifndef CHATBOT_BERT_SAFETENSORS_H_
#define CHATBOT_BERT_SAFETENSORS_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace chatbot::bert {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // floating-point tensors
  std::vector<int64_t> ints;  // integer tensors
  bool is_integer = false;

  int64_t numel() const;
};

class SafeTensorsFile {
 public:
  // Throws ModelError when the file is missing, truncated or malformed.
  static SafeTensorsFile Read(const std::filesystem::path& path);

  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws ModelError naming the file and the tensor when it is absent.
  const Tensor& Get(const std::string& name) const;
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  std::map<std::string, Tensor>& mutable_tensors() { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The file's bytes: float tensors as F32, integer tensors as I64. Names are
// written in sorted order, as Hugging Face does, so equal contents give
// byte-identical files. `where` names the file in errors.
std::string SerializeSafeTensors(const std::string& where,
                                 const std::map<std::string, Tensor>& tensors,
                                 const std::map<std::string, std::string>& metadata = {});

// SerializeSafeTensors written atomically (common/atomic_file.h).
void WriteSafeTensors(const std::filesystem::path& path,
                      const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_SAFETENSORS_H_
