// Model directories and their manifest.json.
//
// A model lives in its own directory (model/svm/, later model/bert/) next to
// a manifest.json naming its format and format version, when and from what
// data it was made, its hyper-parameters, labels and held-out metrics, and
// the SHA-256 and size of every file. Loading verifies all of it and refuses
// a damaged or foreign model with a message naming the file and the problem.
//
// A directory is written whole into a temporary sibling, fsync'ed, and then
// swapped with the old one in a single rename (renameat2 RENAME_EXCHANGE), so
// a reader or a crash sees either the complete old model or the complete new
// one, never a mixture.
#ifndef CHATBOT_NLU_MODEL_MANIFEST_H_
#define CHATBOT_NLU_MODEL_MANIFEST_H_

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace chatbot::nlu {

inline constexpr const char* kManifestFile = "manifest.json";

// Writes `files` (name -> contents) and a manifest (`manifest` plus a "files"
// object with the checksums) as directory `dir`, replacing it atomically.
// Throws IoError.
void WriteModelDirectory(const std::filesystem::path& dir,
                         const std::map<std::string, std::string>& files,
                         boost::json::object manifest);

// Reads dir/manifest.json, checks "format" and "format_version", that it
// lists every one of `required_files`, and the size and SHA-256 of every file
// it lists. Files named by the keys of `contents` are read into it and
// verified there, so the caller parses exactly the bytes that were checked.
// Throws ModelError naming the directory and the problem.
boost::json::object ReadVerifiedManifest(const std::filesystem::path& dir,
                                         std::string_view expected_format,
                                         int64_t supported_version,
                                         const std::vector<std::string>& required_files,
                                         std::map<std::string, std::string>* contents = nullptr);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_MODEL_MANIFEST_H_
