// Little-endian binary serialisation with bounds checks, for model files.
//
// BinaryWriter appends to a string; BinaryReader reads from a byte span and
// throws ModelError (naming the file and what was being read) instead of
// reading past the end, so a truncated or corrupted file is refused cleanly.
#ifndef CHATBOT_COMMON_BINARY_IO_H_
#define CHATBOT_COMMON_BINARY_IO_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"

namespace chatbot {

static_assert(std::endian::native == std::endian::little, "model files are little-endian");

class BinaryWriter {
 public:
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  template <typename T>
  void PutArray(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<uint64_t>(values.size());
    out_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void PutString(std::string_view s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class BinaryReader {
 public:
  // `source` names the file in error messages.
  BinaryReader(std::string_view data, std::string source)
      : data_(data), source_(std::move(source)) {}

  template <typename T>
  T Get(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    Require(sizeof(T), what);
    T value;
    std::memcpy(&value, data_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  // `max_count` guards against absurd sizes in a damaged file.
  template <typename T>
  std::vector<T> GetArray(const char* what, uint64_t max_count) {
    const uint64_t count = Get<uint64_t>(what);
    if (count > max_count) Fail(what, "implausible element count " + std::to_string(count));
    Require(count * sizeof(T), what);
    std::vector<T> values(count);
    std::memcpy(values.data(), data_.data() + offset_, count * sizeof(T));
    offset_ += count * sizeof(T);
    return values;
  }
  std::string GetString(const char* what) {
    const uint32_t size = Get<uint32_t>(what);
    Require(size, what);
    std::string s(data_.substr(offset_, size));
    offset_ += size;
    return s;
  }
  bool AtEnd() const { return offset_ == data_.size(); }
  [[noreturn]] void Fail(const char* what, const std::string& reason) const {
    throw ModelError(source_ + ": bad " + what + " at byte " + std::to_string(offset_) + ": " +
                     reason);
  }

 private:
  void Require(uint64_t bytes, const char* what) const {
    if (bytes > data_.size() - offset_) Fail(what, "file is truncated");
  }

  std::string_view data_;
  std::string source_;
  size_t offset_ = 0;
};

}  // namespace chatbot

#endif  // CHATBOT_COMMON_BINARY_IO_H_
