#include "bert/compute_backend.h"

#include <memory>
#include <string>
#include <string_view>

#include "bert/cpu_backend.h"
#include "common/error.h"

namespace chatbot::bert {

std::string_view PrecisionName(Precision precision) {
  return precision == Precision::kBF16 ? "bf16" : "f32";
}

Precision ParsePrecision(std::string_view name) {
  if (name == "f32" || name == "fp32" || name == "float32") return Precision::kF32;
  if (name == "bf16" || name == "bfloat16") return Precision::kBF16;
  throw ConfigError("unknown precision \"" + std::string(name) + "\" (expected auto, f32 or bf16)");
}

Precision ResolvePrecision(std::string_view name, bool supports_bf16) {
  if (name == "auto") return supports_bf16 ? Precision::kBF16 : Precision::kF32;
  return ParsePrecision(name);
}

std::shared_ptr<const ComputeBackend> DefaultComputeBackend() {
  static const std::shared_ptr<const ComputeBackend> backend = std::make_shared<CpuBackend>();
  return backend;
}

}  // namespace chatbot::bert
