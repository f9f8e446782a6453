// safetensors model files (bert/safetensors.h): BERT checkpoints, imported
// or trained. What holds: a file either reads or is refused with a
// ModelError naming it; what was read, written again (SerializeSafeTensors)
// and read back, is the same tensors and metadata, bit for bit.
#include <cstring>
#include <optional>
#include <string>

#include "bert/safetensors.h"
#include "common/error.h"
#include "fuzz_support.h"

using namespace chatbot;

namespace {

bool Same(const bert::Tensor& a, const bert::Tensor& b) {
  return a.shape == b.shape && a.is_integer == b.is_integer && a.ints == b.ints &&
         a.values.size() == b.values.size() &&
         (a.values.empty() ||
          std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path file = fuzz::ScratchDir() / "model.safetensors";
  fuzz::WriteFile(file, fuzz::Text(data, size));
  std::optional<bert::SafeTensorsFile> read;
  if (!fuzz::Refused<ModelError>([&] { read = bert::SafeTensorsFile::Read(file); },
                                 "model.safetensors")) {
    return 0;
  }
  for (const auto& [name, tensor] : read->tensors()) {
    FUZZ_CHECK(static_cast<size_t>(tensor.numel()) ==
                   (tensor.is_integer ? tensor.ints.size() : tensor.values.size()),
               name);
  }
  const std::filesystem::path again_file = fuzz::ScratchDir() / "again.safetensors";
  fuzz::WriteFile(again_file, bert::SerializeSafeTensors("again.safetensors", read->tensors(),
                                                         read->metadata()));
  std::optional<bert::SafeTensorsFile> again;
  fuzz::Refused<>([&] { again = bert::SafeTensorsFile::Read(again_file); });
  FUZZ_CHECK(again->metadata() == read->metadata(), "metadata changed");
  FUZZ_CHECK(again->tensors().size() == read->tensors().size(), "tensors lost");
  for (const auto& [name, tensor] : read->tensors()) {
    FUZZ_CHECK(again->Has(name) && Same(again->Get(name), tensor), name);
  }
  return 0;
}
