#include "use/sentencepiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/error.h"

namespace chatbot::use {
namespace {

constexpr char32_t kSeparator = U'\u2581';
constexpr char32_t kReplacement = U'\uFFFD';

// UTF-8 to code points; each invalid byte becomes U+FFFD, as a JavaScript
// string decoded from the same bytes would hold.
std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t pos = 0;
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  while (pos < size) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes + pos, size - pos, &cp);
    if (n <= 0) {
      out.push_back(kReplacement);
      ++pos;
    } else {
      out.push_back(static_cast<char32_t>(cp));
      pos += n;
    }
  }
  return out;
}

std::string EncodeUtf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t cp : text) {
    utf8proc_uint8_t buffer[4];
    const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
  }
  return out;
}

int Utf16Length(const std::u32string& text) {
  int length = 0;
  for (const char32_t cp : text) length += cp > 0xFFFF ? 2 : 1;
  return length;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(std::vector<VocabularyPiece> pieces, int reserved)
    : pieces_(std::move(pieces)) {
  if (pieces_.empty()) throw ModelError("the SentencePiece vocabulary is empty");
  trie_.emplace_back();
  utf16_lengths_.reserve(pieces_.size());
  for (size_t id = 0; id < pieces_.size(); ++id) {
    const std::u32string symbols = DecodeUtf8(pieces_[id].piece);
    utf16_lengths_.push_back(Utf16Length(symbols));
    if (static_cast<int>(id) < reserved || symbols.empty()) continue;
    int node = 0;
    for (const char32_t symbol : symbols) {
      int next = Child(node, symbol);
      if (next < 0) {
        next = static_cast<int>(trie_.size());
        trie_.emplace_back();
        auto& children = trie_[static_cast<size_t>(node)].children;
        children.insert(std::upper_bound(children.begin(), children.end(),
                                         std::pair<char32_t, int>(symbol, -1)),
                        {symbol, next});
      }
      node = next;
    }
    // A piece listed twice keeps its later id and score, as the reference's
    // trie does.
    trie_[static_cast<size_t>(node)].id = static_cast<int>(id);
  }
}

int SentencePieceTokenizer::Child(int node, char32_t symbol) const {
  const auto& children = trie_[static_cast<size_t>(node)].children;
  const auto it = std::lower_bound(
      children.begin(), children.end(), symbol,
      [](const std::pair<char32_t, int>& child, char32_t s) { return child.first < s; });
  return it != children.end() && it->first == symbol ? it->second : -1;
}

std::u32string SentencePieceTokenizer::Normalize(std::string_view text) {
  // Decoding first replaces invalid bytes, so utf8proc never refuses the text.
  const std::string valid = EncodeUtf8(DecodeUtf8(text));
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(valid.data()),
      static_cast<utf8proc_ssize_t>(valid.size()), &mapped,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  std::u32string normalized =
      n < 0 ? DecodeUtf8(valid)
            : DecodeUtf8(
                  std::string_view(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n)));
  if (normalized.empty()) return normalized;
  std::u32string out;
  out.reserve(normalized.size() + 1);
  out.push_back(kSeparator);
  for (const char32_t cp : normalized) out.push_back(cp == U' ' ? kSeparator : cp);
  return out;
}

std::vector<int> SentencePieceTokenizer::Encode(std::string_view text) const {
  const std::u32string symbols = Normalize(text);
  const size_t n = symbols.size();
  // The lattice: for each end position, the pieces ending there in order of
  // their start position (each (start, end) pair holds at most one piece).
  struct Arc {
    int start;
    int id;
  };
  std::vector<std::vector<Arc>> ending(n + 1);
  for (size_t start = 0; start < n; ++start) {
    bool matched = false;
    int node = 0;
    for (size_t pos = start; pos < n; ++pos) {
      node = Child(node, symbols[pos]);
      if (node < 0) break;
      const int id = trie_[static_cast<size_t>(node)].id;
      if (id >= 0) {
        ending[pos + 1].push_back({static_cast<int>(start), id});
        matched = true;
      }
    }
    if (!matched) ending[start + 1].push_back({static_cast<int>(start), 0});
  }
  // Ends in increasing order, each end's arcs in order of their start (the
  // order they were pushed in), as the reference visits them.
  std::vector<double> best(n + 1, 0.0);
  std::vector<int> words(n + 1, 0);
  for (size_t end = 1; end <= n; ++end) {
    for (const Arc& arc : ending[end]) {
      const double piece_score = arc.id == 0 ? 0.0 : pieces_[static_cast<size_t>(arc.id)].score;
      const double score = piece_score + best[static_cast<size_t>(arc.start)];
      if (best[end] == 0 || score >= best[end]) {
        best[end] = score;
        words[end] = arc.id;
      }
    }
  }
  std::vector<int> backward;
  for (long pos = static_cast<long>(n); pos > 0;) {
    const int id = words[static_cast<size_t>(pos)];
    backward.push_back(id);
    // At least one position: an empty unknown piece (id 0) would otherwise
    // never move the walk, and the request would hang.
    pos -= std::max(1, utf16_lengths_[static_cast<size_t>(id)]);
  }
  std::vector<int> ids;
  ids.reserve(backward.size());
  bool previous_unknown = false;
  for (const int id : backward) {
    if (!(previous_unknown && id == 0)) ids.push_back(id);
    previous_unknown = id == 0;
  }
  std::reverse(ids.begin(), ids.end());
  return ids;
}

}  // namespace chatbot::use
