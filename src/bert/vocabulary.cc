#include "bert/vocabulary.h"

#include <algorithm>
#include <system_error>

#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

constexpr std::string_view kContinuation = "##";

}  // namespace

Vocabulary Vocabulary::FromTokens(std::vector<std::string> tokens, const std::string& source) {
  Vocabulary v;
  v.tokens_ = std::move(tokens);
  std::unordered_map<std::string_view, size_t> first_seen;
  for (size_t i = 0; i < v.tokens_.size(); ++i) {
    const std::string& token = v.tokens_[i];
    if (token.find('\n') != std::string::npos) {
      throw ModelError(source + ": token " + std::to_string(i) + " holds a line break");
    }
    const auto [it, inserted] = first_seen.emplace(token, i);
    if (!inserted) {
      throw ModelError(source + ":" + std::to_string(i + 1) + ": duplicate token '" + token +
                       "' (first on line " + std::to_string(it->second + 1) + ")");
    }
    const int32_t id = static_cast<int32_t>(i);
    if (token.size() > kContinuation.size() && token.starts_with(kContinuation)) {
      const std::string piece = token.substr(kContinuation.size());
      v.max_continuation_bytes_ = std::max(v.max_continuation_bytes_, piece.size());
      v.continuations_.emplace(piece, id);
    }
    v.max_word_bytes_ = std::max(v.max_word_bytes_, token.size());
    // Every token, "##" ones included, is also a whole-word entry, so Find()
    // and a word that literally starts with "##" behave as in Hugging Face.
    v.words_.emplace(token, id);
    if (token == "[PAD]")
      v.pad_id_ = id;
    else if (token == "[UNK]")
      v.unk_id_ = id;
    else if (token == "[CLS]")
      v.cls_id_ = id;
    else if (token == "[SEP]")
      v.sep_id_ = id;
    else if (token == "[MASK]")
      v.mask_id_ = id;
  }
  std::string missing;
  for (const auto& [name, id] : {std::pair<const char*, int32_t>{"[UNK]", v.unk_id_},
                                 {"[CLS]", v.cls_id_},
                                 {"[SEP]", v.sep_id_},
                                 {"[PAD]", v.pad_id_}}) {
    if (id == kNotFound) missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) {
    throw ModelError(source + ": the vocabulary lacks the special token(s) " + missing);
  }
  return v;
}

Vocabulary Vocabulary::Load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ModelError(path.string() + ": no such file");
  }
  const std::string text = ReadFile(path);
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    // A token ending in a carriage return could not be saved and read back
    // (the line ending takes one): refused rather than changed.
    if (line.ends_with('\r')) {
      throw ModelError(path.string() + ": line " + std::to_string(tokens.size() + 1) +
                       ": a token ends in a carriage return");
    }
    tokens.emplace_back(line);
    start = end + 1;
  }
  if (tokens.empty()) throw ModelError(path.string() + ": the vocabulary is empty");
  return FromTokens(std::move(tokens), path.string());
}

void Vocabulary::Save(const std::filesystem::path& path) const {
  std::string out;
  for (const std::string& token : tokens_) {
    out += token;
    out += '\n';
  }
  WriteFileAtomically(path, out);
}

int32_t Vocabulary::Find(std::string_view token) const {
  return Lookup(words_, token);
}

const std::string& Vocabulary::Token(int32_t id) const {
  if (id < 0 || id >= size()) {
    throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                     std::to_string(size()));
  }
  return tokens_[static_cast<size_t>(id)];
}

}  // namespace chatbot::bert
