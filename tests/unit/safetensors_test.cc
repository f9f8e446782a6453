#include "bert/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "ci_skip.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

class SafeTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("chatbot_safetensors_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a file from a header string and raw data bytes.
  fs::path WriteRaw(const std::string& header, const std::string& data,
                    const std::string& name = "t.safetensors") {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header << data;
    return path;
  }

  static std::string ModelErrorOf(const std::function<void()>& read) {
    try {
      read();
    } catch (const ModelError& error) {
      return error.what();
    }
    ADD_FAILURE() << "no ModelError thrown";
    return "";
  }

  template <typename T>
  static std::string Bytes(std::initializer_list<T> values) {
    std::string s;
    for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return s;
  }

  fs::path dir_;
};

TEST_F(SafeTensorsTest, RoundTripKeepsValuesShapesAndMetadata) {
  std::map<std::string, Tensor> tensors;
  Tensor w;
  w.shape = {2, 3};
  w.values = {1.0f, -2.5f, 3.25f, 0.0f, 1e-8f, -1e8f};
  tensors["b.weight"] = w;
  Tensor ids;
  ids.shape = {4};
  ids.is_integer = true;
  ids.ints = {0, -1, int64_t{1} << 40, 7};
  tensors["a.ids"] = ids;
  Tensor scalar;
  scalar.values = {42.0f};
  tensors["c.scalar"] = scalar;
  Tensor empty;
  empty.shape = {0, 5};
  tensors["d.empty"] = empty;

  const fs::path path = dir_ / "m.safetensors";
  WriteSafeTensors(path, tensors, {{"format", "pt"}});
  const SafeTensorsFile file = SafeTensorsFile::Read(path);
  ASSERT_EQ(file.tensors().size(), 4u);
  EXPECT_THAT(file.Get("b.weight").shape, ElementsAre(2, 3));
  EXPECT_EQ(file.Get("b.weight").values, w.values);
  EXPECT_FALSE(file.Get("b.weight").is_integer);
  EXPECT_TRUE(file.Get("a.ids").is_integer);
  EXPECT_EQ(file.Get("a.ids").ints, ids.ints);
  EXPECT_TRUE(file.Get("c.scalar").shape.empty());
  EXPECT_EQ(file.Get("c.scalar").numel(), 1);
  EXPECT_EQ(file.Get("c.scalar").values, scalar.values);
  EXPECT_EQ(file.Get("d.empty").numel(), 0);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_THAT(ModelErrorOf([&] { file.Get("nope"); }), HasSubstr("no tensor 'nope'"));

  // Equal contents give byte-identical files; the header is 8-byte aligned.
  const fs::path again = dir_ / "again.safetensors";
  WriteSafeTensors(again, file.tensors(), file.metadata());
  std::ifstream a(path, std::ios::binary), b(again, std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {});
  const std::string bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a, bytes_b);
  uint64_t header_size;
  std::memcpy(&header_size, bytes_a.data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  // Names in sorted order, metadata first.
  const std::string header = bytes_a.substr(8, header_size);
  EXPECT_LT(header.find("__metadata__"), header.find("a.ids"));
  EXPECT_LT(header.find("a.ids"), header.find("b.weight"));
}

TEST_F(SafeTensorsTest, WriteRefusesValueCountThatDisagreesWithShape) {
  Tensor t;
  t.shape = {2, 2};
  t.values = {1, 2, 3};
  EXPECT_THAT(ModelErrorOf([&] {
                WriteSafeTensors(dir_ / "x.safetensors", {{"t", t}});
              }),
              HasSubstr("tensor 't' holds 3 values but its shape needs 4"));
  EXPECT_FALSE(fs::exists(dir_ / "x.safetensors"));
}

TEST_F(SafeTensorsTest, ReadsHalfAndBfloat16AsFloatAndInt32AsInt64) {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001, +inf 0x7c00.
  const std::string f16 = Bytes<uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555});
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00, 3.140625 = 0x4049.
  const std::string bf16 = Bytes<uint16_t>({0x3f80, 0xbf00, 0x4049});
  const std::string i32 = Bytes<int32_t>({-3, 2147483647});
  const std::string header = R"({"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},)"
                             R"("i":{"dtype":"I32","shape":[2],"data_offsets":[18,26]}})";
  const SafeTensorsFile file = SafeTensorsFile::Read(WriteRaw(header, f16 + bf16 + i32));
  const Tensor& h = file.Get("h");
  ASSERT_EQ(h.values.size(), 6u);
  EXPECT_EQ(h.values[0], 1.0f);
  EXPECT_EQ(h.values[1], -2.0f);
  EXPECT_EQ(h.values[2], 65504.0f);
  EXPECT_EQ(h.values[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(h.values[4]));
  EXPECT_NEAR(h.values[5], 1.0f / 3.0f, 1e-3f);
  EXPECT_THAT(file.Get("b").values, ElementsAre(1.0f, -0.5f, 3.140625f));
  EXPECT_TRUE(file.Get("i").is_integer);
  EXPECT_THAT(file.Get("i").ints, ElementsAre(-3, 2147483647));
}

TEST_F(SafeTensorsTest, RefusesMalformedFiles) {
  const std::string data = Bytes<float>({1, 2, 3, 4});
  struct Case {
    std::string header;
    std::string data;
    std::string expected;
  };
  const Case cases[] = {
      {R"({"t":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", data,
       "unsupported dtype 'F64'"},
      {R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data,
       "holds 16 bytes but its shape and F32 need 12"},
      {R"({"t":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", data, "file is truncated"},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data,
       "data section holds 16 bytes but the tensors cover 8"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       data, "overlap or leave a gap"},
      {R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}})", data,
       "not a non-negative integer"},
      {R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", data, "end before"},
      {R"({"t":{"dtype":"F32","shape":[4]}})", data, "data_offsets"},
      {R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]})", data, "not valid JSON"},
      {R"([1, 2])", data, "not a JSON object"},
      {R"({"__metadata__":{"k":1}})", "", "is not a string"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const fs::path path = WriteRaw(c.header, c.data, "case" + std::to_string(i++));
    const std::string message = ModelErrorOf([&] { SafeTensorsFile::Read(path); });
    EXPECT_THAT(message, HasSubstr(c.expected)) << c.header;
    EXPECT_THAT(message, HasSubstr(path.string())) << c.header;
  }
}

TEST_F(SafeTensorsTest, RefusesHeaderLengthBeyondTheFileAndMissingFiles) {
  const fs::path path = dir_ / "short.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_THAT(ModelErrorOf([&] { SafeTensorsFile::Read(path); }),
              HasSubstr("header length 1000 exceeds the 2 bytes after it"));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "abc";
  }
  EXPECT_THAT(ModelErrorOf([&] { SafeTensorsFile::Read(path); }), HasSubstr("truncated"));
  EXPECT_THAT(ModelErrorOf([&] { SafeTensorsFile::Read(dir_ / "absent.safetensors"); }),
              HasSubstr("absent.safetensors: no such file"));
}

TEST_F(SafeTensorsTest, ReadsTheFixtureCheckpoint) {
  const fs::path path =
      fs::path(CHATBOT_SOURCE_DIR) / "../shared/fixtures/bert-tiny/model.safetensors";
  if (!fs::exists(path)) CHATBOT_SKIP("fixture not available at " << path);
  const SafeTensorsFile file = SafeTensorsFile::Read(path);
  const Tensor& words = file.Get("bert.embeddings.word_embeddings.weight");
  EXPECT_THAT(words.shape, ElementsAre(2000, 64));
  EXPECT_EQ(words.values.size(), 2000u * 64u);
  // Round trip through the writer.
  WriteSafeTensors(dir_ / "copy.safetensors", file.tensors(), file.metadata());
  const SafeTensorsFile copy = SafeTensorsFile::Read(dir_ / "copy.safetensors");
  ASSERT_EQ(copy.tensors().size(), file.tensors().size());
  for (const auto& [name, tensor] : file.tensors()) {
    EXPECT_EQ(copy.Get(name).shape, tensor.shape) << name;
    EXPECT_EQ(copy.Get(name).values, tensor.values) << name;
    EXPECT_EQ(copy.Get(name).ints, tensor.ints) << name;
  }
}

}  // namespace
}  // namespace chatbot::bert
