#include "bert/bert_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>

#include "common/error.h"

namespace chatbot::bert {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at text[*i] and advances *i. A malformed, overlong
// or surrogate sequence yields U+FFFD for its first byte (which cleaning then
// drops, as Python would drop the replacement character).
char32_t DecodeUtf8(std::string_view text, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(*i);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int length;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xe0) == 0xc0)
    length = 2, cp = b0 & 0x1f, min = 0x80;
  else if ((b0 & 0xf0) == 0xe0)
    length = 3, cp = b0 & 0x0f, min = 0x800;
  else if ((b0 & 0xf8) == 0xf0)
    length = 4, cp = b0 & 0x07, min = 0x10000;
  else {
    ++*i;
    return kReplacement;
  }
  if (*i + length > text.size()) {
    ++*i;
    return kReplacement;
  }
  for (int k = 1; k < length; ++k) {
    const unsigned char b = byte(*i + k);
    if ((b & 0xc0) != 0x80) {
      ++*i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++*i;
    return kReplacement;
  }
  *i += length;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Hugging Face `_is_control`: category C*, except "\t", "\n", "\r".
bool IsControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x80) return cp < 0x20 || cp == 0x7f;
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

// Hugging Face `_is_whitespace`: " ", "\t", "\n", "\r" or category Zs.
bool IsWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x80) return false;
  return Category(cp) == UTF8PROC_CATEGORY_ZS;
}

// Python's str.isspace(), which str.split() (whitespace_tokenize) splits on:
// bidirectional class WS, B or S, or category Zs.
bool IsPythonSpace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f);
  if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) return true;
  return Category(cp) == UTF8PROC_CATEGORY_ZS;
}

// Hugging Face `_is_chinese_char`: the CJK Unified Ideographs blocks (not
// Hiragana, Katakana or Hangul, which are written with spaces).
bool IsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Hugging Face `_is_punctuation`: all non-alphanumeric ASCII (so "$", "^",
// "`" count although they are symbols) plus Unicode category P*.
bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

// Unicode "Cased" approximated: a letter with case, or any character with a
// case mapping (covers circled and Roman-numeral letters).
bool IsCased(char32_t cp) {
  const auto c = static_cast<utf8proc_int32_t>(cp);
  const utf8proc_category_t cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
         cat == UTF8PROC_CATEGORY_LT || utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

// Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, and the Word_Break classes
// MidLetter, MidNumLet and Single_Quote.
bool IsCaseIgnorable(char32_t cp) {
  switch (cp) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      break;
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      return false;
  }
}

// CPython's handle_capital_sigma: "Σ" lower-cases to final "ς" after a cased
// letter when no cased letter follows (case-ignorable characters skipped).
bool IsFinalSigma(const char32_t* begin, const char32_t* end, const char32_t* at) {
  const char32_t* p = at;
  while (p != begin && IsCaseIgnorable(*(p - 1))) --p;
  if (p == begin || !IsCased(*(p - 1))) return false;
  const char32_t* q = at + 1;
  while (q != end && IsCaseIgnorable(*q)) ++q;
  return q == end || !IsCased(*q);
}

// Python's str.lower(): the simple lower-case mapping, plus the one
// unconditional multi-character mapping ("İ" -> "i̇") and the final sigma.
void PythonLower(const char32_t* begin, const char32_t* end, std::u32string* out) {
  out->clear();
  for (const char32_t* p = begin; p != end; ++p) {
    const char32_t c = *p;
    if (c < 0x80) {
      out->push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0x130) {
      out->push_back('i');
      out->push_back(0x307);
    } else if (c == 0x3A3) {
      out->push_back(IsFinalSigma(begin, end, p) ? 0x3C2 : 0x3C3);
    } else {
      out->push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
}

// Per-thread buffers, so a warm thread tokenizes without allocating.
struct Scratch {
  std::u32string cps;       // the cleaned chunk
  std::u32string lowered;   // one word, lower-cased
  std::u32string stripped;  // one word, accents stripped
  std::string utf8;         // input to utf8proc
  std::vector<utf8proc_int32_t> normalized;
  std::string word;               // the word being emitted
  std::vector<uint32_t> offsets;  // code point byte offsets inside a word
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Runs utf8proc_decompose on `utf8` with `options` into `out`, growing it as
// needed; returns the number of code points. With UTF8PROC_COMPOSE the result
// is also composed (NFC).
size_t Normalize(const std::string& utf8, utf8proc_option_t options,
                 std::vector<utf8proc_int32_t>* out) {
  if (out->size() < utf8.size() + 16) out->resize(utf8.size() + 16);
  utf8proc_ssize_t n;
  while (true) {
    n = utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                           static_cast<utf8proc_ssize_t>(utf8.size()), out->data(),
                           static_cast<utf8proc_ssize_t>(out->size()), options);
    if (n < 0) throw ModelError(std::string("tokenizer: ") + utf8proc_errmsg(n));
    if (static_cast<size_t>(n) <= out->size()) break;
    out->resize(static_cast<size_t>(n));
  }
  if (options & UTF8PROC_COMPOSE) {
    n = utf8proc_normalize_utf32(out->data(), n, options);
    if (n < 0) throw ModelError(std::string("tokenizer: ") + utf8proc_errmsg(n));
  }
  return static_cast<size_t>(n);
}

void ToUtf8(const char32_t* begin, const char32_t* end, std::string* out) {
  out->clear();
  for (const char32_t* p = begin; p != end; ++p) AppendUtf8(*p, out);
}

// Accent stripping as `_run_strip_accents`: NFD, then drop category Mn.
void StripAccents(const std::u32string& in, Scratch& s, std::u32string* out) {
  out->clear();
  // Below U+00C0 nothing decomposes and nothing is Mn.
  if (std::all_of(in.begin(), in.end(), [](char32_t c) { return c < 0xC0; })) {
    *out = in;
    return;
  }
  ToUtf8(in.data(), in.data() + in.size(), &s.utf8);
  const size_t n = Normalize(
      s.utf8, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE), &s.normalized);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<char32_t>(s.normalized[i]);
    if (Category(c) != UTF8PROC_CATEGORY_MN) out->push_back(c);
  }
}

}  // namespace

TokenizerOptions TokenizerOptions::FromConfig(const BertConfig& config) {
  TokenizerOptions options;
  options.do_lower_case = config.do_lower_case;
  options.strip_accents = config.strip_accents;
  options.tokenize_chinese_chars = config.tokenize_chinese_chars;
  options.model_max_length = config.model_max_length;
  return options;
}

BertTokenizer::BertTokenizer(Vocabulary vocab, TokenizerOptions options)
    : vocab_(std::move(vocab)), options_(options) {
  if (vocab_.unk_id() < 0 || vocab_.cls_id() < 0 || vocab_.sep_id() < 0) {
    throw ModelError("tokenizer: the vocabulary lacks [UNK], [CLS] or [SEP]");
  }
  for (const char* special : {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"}) {
    if (vocab_.Find(special) != Vocabulary::kNotFound) specials_.emplace_back(special);
  }
}

template <typename OnWord>
void BertTokenizer::ForEachWord(std::string_view text, OnWord&& on_word) const {
  // Special tokens written in the text are kept whole (Hugging Face splits the
  // raw text on its added tokens before basic tokenization).
  size_t chunk_start = 0;
  size_t pos = 0;
  while ((pos = text.find('[', pos)) != std::string_view::npos) {
    size_t matched = 0;
    for (const std::string& special : specials_) {
      if (text.substr(pos).starts_with(special)) {
        matched = special.size();
        break;
      }
    }
    if (matched == 0) {
      ++pos;
      continue;
    }
    if (!ForEachWordOfChunk(text.substr(chunk_start, pos - chunk_start), on_word)) return;
    if (!on_word(text.substr(pos, matched), true)) return;
    pos += matched;
    chunk_start = pos;
  }
  ForEachWordOfChunk(text.substr(chunk_start), on_word);
}

template <typename OnWord>
bool BertTokenizer::ForEachWordOfChunk(std::string_view chunk, OnWord& on_word) const {
  Scratch& s = ThreadScratch();
  // Clean, and put spaces around CJK ideographs.
  s.cps.clear();
  char32_t max_cp = 0;
  for (size_t i = 0; i < chunk.size();) {
    const char32_t cp = DecodeUtf8(chunk, &i);
    if (cp == 0 || cp == kReplacement || IsControl(cp)) continue;
    if (IsWhitespace(cp)) {
      s.cps.push_back(' ');
    } else if (options_.tokenize_chinese_chars && IsChineseChar(cp)) {
      s.cps.push_back(' ');
      s.cps.push_back(cp);
      s.cps.push_back(' ');
    } else {
      s.cps.push_back(cp);
    }
    max_cp = std::max(max_cp, cp);
  }
  // NFC (text below U+0300 is already in NFC).
  if (max_cp >= 0x300) {
    ToUtf8(s.cps.data(), s.cps.data() + s.cps.size(), &s.utf8);
    const size_t n = Normalize(
        s.utf8, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE), &s.normalized);
    s.cps.assign(s.normalized.begin(), s.normalized.begin() + static_cast<ptrdiff_t>(n));
  }

  const auto emit = [&](const char32_t* begin, const char32_t* end) {
    ToUtf8(begin, end, &s.word);
    return on_word(std::string_view(s.word), false);
  };
  const char32_t* const data = s.cps.data();
  const size_t size = s.cps.size();
  size_t i = 0;
  while (i < size) {
    while (i < size && IsPythonSpace(data[i])) ++i;
    if (i == size) break;
    size_t j = i;
    while (j < size && !IsPythonSpace(data[j])) ++j;
    const char32_t* begin = data + i;
    const char32_t* end = data + j;
    i = j;

    // A special token produced by cleaning ("[CL\0S]") is never split.
    if (!specials_.empty() && *begin == '[') {
      bool special = false;
      for (const std::string& token : specials_) {
        if (static_cast<size_t>(end - begin) == token.size() &&
            std::equal(token.begin(), token.end(), begin,
                       [](char a, char32_t b) { return static_cast<char32_t>(a) == b; })) {
          special = true;
          break;
        }
      }
      if (special) {
        ToUtf8(begin, end, &s.word);
        if (!on_word(std::string_view(s.word), true)) return false;
        continue;
      }
    }

    if (options_.do_lower_case) {
      PythonLower(begin, end, &s.lowered);
      if (options_.strip_accents) {
        StripAccents(s.lowered, s, &s.stripped);
        begin = s.stripped.data(), end = begin + s.stripped.size();
      } else {
        begin = s.lowered.data(), end = begin + s.lowered.size();
      }
    } else if (options_.strip_accents) {
      s.lowered.assign(begin, end);
      StripAccents(s.lowered, s, &s.stripped);
      begin = s.stripped.data(), end = begin + s.stripped.size();
    }

    // Split around punctuation.
    const char32_t* word_begin = begin;
    for (const char32_t* p = begin; p != end; ++p) {
      if (!IsPunctuation(*p)) continue;
      if (p != word_begin && !emit(word_begin, p)) return false;
      if (!emit(p, p + 1)) return false;
      word_begin = p + 1;
    }
    if (word_begin != end && !emit(word_begin, end)) return false;
  }
  return true;
}

void BertTokenizer::WordPiece(std::string_view word, std::vector<int32_t>* ids) const {
  std::vector<uint32_t>& offsets = ThreadScratch().offsets;
  offsets.clear();
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xc0) != 0x80) offsets.push_back(i);
  }
  const size_t n = offsets.size();
  offsets.push_back(static_cast<uint32_t>(word.size()));
  if (n > static_cast<size_t>(kMaxInputCharsPerWord)) {
    ids->push_back(vocab_.unk_id());
    return;
  }
  const size_t rollback = ids->size();
  size_t start = 0;
  while (start < n) {
    const size_t max_bytes = start == 0 ? vocab_.max_word_bytes() : vocab_.max_continuation_bytes();
    size_t end = n;
    // No piece is longer than the longest token: skip those probes.
    while (end > start && offsets[end] - offsets[start] > max_bytes) --end;
    int32_t id = Vocabulary::kNotFound;
    for (; end > start; --end) {
      const std::string_view piece = word.substr(offsets[start], offsets[end] - offsets[start]);
      id = start == 0 ? vocab_.FindWord(piece) : vocab_.FindContinuation(piece);
      if (id != Vocabulary::kNotFound) break;
    }
    if (id == Vocabulary::kNotFound) {
      ids->resize(rollback);
      ids->push_back(vocab_.unk_id());
      return;
    }
    ids->push_back(id);
    start = end;
  }
}

std::vector<std::string> BertTokenizer::BasicTokenize(std::string_view text) const {
  std::vector<std::string> words;
  ForEachWord(text, [&](std::string_view word, bool) {
    words.emplace_back(word);
    return true;
  });
  return words;
}

std::vector<std::string> BertTokenizer::Tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  ForEachWord(text, [&](std::string_view word, bool special) {
    if (special)
      ids.push_back(vocab_.Find(word));
    else
      WordPiece(word, &ids);
    return true;
  });
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) tokens.push_back(vocab_.Token(id));
  return tokens;
}

std::vector<int32_t> BertTokenizer::Encode(std::string_view text, int max_length) const {
  std::vector<int32_t> ids;
  Encode(text, max_length, &ids);
  return ids;
}

void BertTokenizer::Encode(std::string_view text, int max_length, std::vector<int32_t>* ids) const {
  if (max_length <= 0) max_length = options_.model_max_length;
  const size_t limit = static_cast<size_t>(std::max(max_length, 2)) - 1;  // [CLS] + pieces
  ids->clear();
  ids->push_back(vocab_.cls_id());
  // Truncation drops pieces from the end, so words past the limit need not
  // be tokenized at all.
  ForEachWord(text, [&](std::string_view word, bool special) {
    if (special)
      ids->push_back(vocab_.Find(word));
    else
      WordPiece(word, ids);
    return ids->size() < limit;
  });
  if (ids->size() > limit) ids->resize(limit);
  ids->push_back(vocab_.sep_id());
}

}  // namespace chatbot::bert
