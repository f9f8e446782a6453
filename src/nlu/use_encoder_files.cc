#include "nlu/use_encoder_files.h"

#include <chrono>

#include "bert/safetensors.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/time.h"
#include "nlu/model_manifest.h"
#include "use/tfjs_package.h"
#include "use/vocabulary_json.h"

namespace chatbot::nlu {
namespace fs = std::filesystem;

EncoderImportResult ImportUseEncoder(const fs::path& package_dir, const fs::path& out_arg,
                                     const fs::path& models_dir) {
  const fs::path out_dir = out_arg.empty() ? models_dir / kEncoderDirectory : out_arg;
  const auto start = std::chrono::steady_clock::now();
  const fs::path source = package_dir.empty() ? use::DefaultPackageDir() : package_dir;
  use::TfjsPackage package = use::ReadTfjsPackage(source);
  // Building the encoder checks every tensor's shape before anything is written.
  const use::UseEncoder check(package.tensors, source.string(), package.vocabulary);

  EncoderImportResult result;
  result.directory = out_dir;
  result.package = package.name + "@" + package.version;
  result.license = package.license;
  for (const auto& [name, tensor] : package.tensors) result.parameters += tensor.numel();

  std::map<std::string, std::string> files;
  files[kEncoderWeightsFile] =
      bert::SerializeSafeTensors((out_dir / kEncoderWeightsFile).string(), package.tensors,
                                 {{"format", kEncoderFormat}, {"source", result.package}});
  files[kEncoderVocabularyFile] = use::VocabularyToJson(package.vocabulary) + "\n";
  for (const auto& [name, bytes] : files) result.bytes += static_cast<int64_t>(bytes.size());

  boost::json::object sources;
  for (const auto& [name, sha] : package.source_sha256) sources[name] = sha;
  boost::json::object manifest{{"format", kEncoderFormat},
                               {"format_version", kEncoderFormatVersion},
                               {"created_at", UtcTimestamp()},
                               {"source",
                                {{"package", result.package},
                                 {"license", package.license},
                                 {"directory", fs::absolute(source).string()},
                                 {"sha256", std::move(sources)}}},
                               {"architecture",
                                {{"name", "universal-sentence-encoder-lite"},
                                 {"layers", 2},
                                 {"embedding_size", use::kEmbeddingSize},
                                 {"max_tokens", use::kMaxTokens},
                                 {"vocabulary", package.vocabulary.size()},
                                 {"parameters", result.parameters}}}};
  WriteModelDirectory(out_dir, files, std::move(manifest));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::map<std::string, std::string> ReadEncoderFiles(const fs::path& encoder_dir) {
  std::map<std::string, std::string> contents{{kEncoderWeightsFile, ""},
                                              {kEncoderVocabularyFile, ""}};
  ReadVerifiedManifest(encoder_dir, kEncoderFormat, kEncoderFormatVersion,
                       {kEncoderWeightsFile, kEncoderVocabularyFile}, &contents);
  return contents;
}

std::shared_ptr<const use::UseEncoder> LoadEncoderFrom(const fs::path& dir,
                                                       bert::Precision precision) {
  const bert::SafeTensorsFile weights = bert::SafeTensorsFile::Read(dir / kEncoderWeightsFile);
  const fs::path vocab = dir / kEncoderVocabularyFile;
  return std::make_shared<const use::UseEncoder>(
      weights.tensors(), weights.path().string(),
      use::ParseVocabularyJson(ReadFile(vocab), vocab.string()), nullptr, precision);
}

}  // namespace chatbot::nlu
