// Model folders and their manifest.json (nlu/model_manifest.h): format,
// version, and the size and SHA-256 of every file. The input is the folder
// (files_support.h). What holds: the folder is either accepted or refused
// with a ModelError naming it; when accepted, every file the manifest lists
// was read and its bytes are the file's.
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/error.h"
#include "files_support.h"
#include "nlu/model_manifest.h"

using namespace chatbot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path dir = fuzz::ScratchDir() / "svm";
  const std::vector<std::string> files = fuzz::WriteFolder(dir, fuzz::Text(data, size));
  std::map<std::string, std::string> contents;
  for (const std::string& name : files) contents[name];
  boost::json::object manifest;
  if (!fuzz::Refused<ModelError>(
          [&] { manifest = nlu::ReadVerifiedManifest(dir, "svm", 1, {}, &contents); },
          dir.string())) {
    return 0;
  }
  for (const auto& [name, bytes] : contents) {
    std::ifstream in(dir / name, std::ios::binary);
    std::stringstream on_disk;
    on_disk << in.rdbuf();
    FUZZ_CHECK(!in || on_disk.str() == bytes, name);
  }
  FUZZ_CHECK(manifest.contains("format"), "a manifest accepted without its format");
  return 0;
}
