#include "use/vocabulary_json.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cstddef>
#include <limits>
#include <optional>

#include "common/error.h"

namespace chatbot::use {
namespace {

// The events of boost::json::basic_parser, checked against the one shape
// vocab.json has. Boost.JSON 1.81 computes a number's double itself and can
// be off in the last bits for long or large numbers; here the handler gets
// each number's digits and std::from_chars rounds them correctly.
class VocabularyHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  std::vector<VocabularyPiece> pieces;
  // Why the parse stopped, when the handler stopped it.
  std::optional<std::string> reason;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) {
    if (depth_ == 0) return Enter(1);
    if (depth_ == 1) {
      field_ = 0;
      piece_.clear();
      return Enter(2);
    }
    return BadEntry();
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    if (depth_ == 2) {
      if (field_ != 2) return BadEntry();
      pieces.push_back({std::move(piece_), score_});
      piece_.clear();
    }
    --depth_;
    return true;
  }
  bool on_object_begin(boost::system::error_code&) { return Unexpected(); }
  bool on_object_end(std::size_t, boost::system::error_code&) { return Unexpected(); }
  bool on_key_part(boost::json::string_view, std::size_t, boost::system::error_code&) {
    return Unexpected();
  }
  bool on_key(boost::json::string_view, std::size_t, boost::system::error_code&) {
    return Unexpected();
  }
  bool on_string_part(boost::json::string_view text, std::size_t, boost::system::error_code&) {
    if (!InField(0)) return Unexpected();
    piece_.append(text.data(), text.size());
    return true;
  }
  bool on_string(boost::json::string_view text, std::size_t size,
                 boost::system::error_code& error) {
    if (!on_string_part(text, size, error)) return false;
    field_ = 1;
    return true;
  }
  bool on_number_part(boost::json::string_view text, boost::system::error_code&) {
    if (!InField(1)) return Unexpected();
    digits_.append(text.data(), text.size());
    return true;
  }
  bool on_int64(int64_t, boost::json::string_view text, boost::system::error_code& error) {
    return OnNumber(text, error);
  }
  bool on_uint64(uint64_t, boost::json::string_view text, boost::system::error_code& error) {
    return OnNumber(text, error);
  }
  bool on_double(double, boost::json::string_view text, boost::system::error_code& error) {
    return OnNumber(text, error);
  }
  bool on_bool(bool, boost::system::error_code&) { return Unexpected(); }
  bool on_null(boost::system::error_code&) {
    if (!InField(1)) return Unexpected();
    score_ = 0;
    field_ = 2;
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

 private:
  bool Enter(int depth) {
    depth_ = depth;
    return true;
  }
  bool InField(int field) const { return depth_ == 2 && field_ == field; }
  // A value where the shape has none: outside the array, the whole document
  // is wrong; inside it, the entry being read is.
  bool Unexpected() {
    if (depth_ == 0) {
      reason = "not a JSON array of [piece, score] pairs";
      return false;
    }
    return BadEntry();
  }
  bool BadEntry() {
    reason = "entry " + std::to_string(pieces.size()) + " is not a [piece, score] pair";
    return false;
  }
  bool OnNumber(boost::json::string_view text, boost::system::error_code& error) {
    if (!on_number_part(text, error)) return false;
    const char* end = digits_.data() + digits_.size();
    const auto [stop, status] = std::from_chars(digits_.data(), end, score_);
    digits_.clear();
    if (status != std::errc() || stop != end) {
      reason = "entry " + std::to_string(pieces.size()) + ": the score is out of range";
      return false;
    }
    field_ = 2;
    return true;
  }

  int depth_ = 0;
  int field_ = 0;  // in a pair: 0 before the piece, 1 before the score, 2 after it
  std::string piece_;
  std::string digits_;
  double score_ = 0;
};

}  // namespace

std::vector<VocabularyPiece> ParseVocabularyJson(std::string_view json, const std::string& where) {
  boost::json::basic_parser<VocabularyHandler> parser({});
  boost::system::error_code error;
  const std::size_t used = parser.write_some(false, json.data(), json.size(), error);
  if (!error && used != json.size()) error = boost::json::error::extra_data;
  if (error || !parser.done()) {
    throw ModelError(where + ": " +
                     parser.handler().reason.value_or("not a JSON array of [piece, score] pairs"));
  }
  std::vector<VocabularyPiece>& pieces = parser.handler().pieces;
  if (pieces.empty()) throw ModelError(where + ": the vocabulary is empty");
  return std::move(pieces);
}

std::string VocabularyToJson(const std::vector<VocabularyPiece>& pieces) {
  boost::json::array array;
  array.reserve(pieces.size());
  for (const auto& piece : pieces) array.push_back(boost::json::array{piece.piece, piece.score});
  return boost::json::serialize(array);
}

}  // namespace chatbot::use
