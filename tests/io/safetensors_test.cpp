// Tests for the safetensors reader/writer: a round trip, byte-exact layout of what we write, and every corruption the
// reader must reject (files built by hand, byte by byte, as the reference format defines them).
#include "strata/io/safetensors.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/error_matchers.h"
#include "strata/core/error.h"

namespace strata::io {
namespace {

namespace fs = std::filesystem;

const std::string& temp_dir() {
  struct Dir {
    std::string path;
    Dir() {
      path = (fs::temp_directory_path() / ("strata_safetensors_test_" + std::to_string(::getpid()))).string();
      fs::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A file: u64 header length (the true one unless overridden), header text, data bytes.
std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                      std::int64_t header_len_override = -1) {
  std::string p = temp_dir() + "/" + name;
  std::uint64_t n = header_len_override >= 0 ? static_cast<std::uint64_t>(header_len_override) : header.size();
  std::ofstream(p, std::ios::binary) << le64(n) << header << data;
  return p;
}

std::string floats_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

using strata::testing::bad_input_message;

TEST(Safetensors, RoundTripKeepsValuesShapesMetadataAndAlignment) {
  const std::vector<float> w = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};  // (2, 3)
  const std::vector<std::int64_t> ids = {1, -2, 1LL << 40, 7};             // (4)
  const std::vector<std::uint16_t> bf = {0x3F80, 0xC040};                  // bf16 1.0, -3.0
  const std::vector<std::uint16_t> hf = {0x3C00, 0xC000, 0x0001, 0x7C00};  // f16 1, -2, 2^-24, inf
  const std::string path = temp_dir() + "/rt.safetensors";
  write_safetensors(path,
                    {{"w", "F32", {2, 3}, w.data(), w.size() * 4},
                     {"ids", "I64", {4}, ids.data(), ids.size() * 8},
                     {"b", "BF16", {2}, bf.data(), 4},
                     {"a", "F16", {2, 2}, hf.data(), 8},
                     {"empty", "F32", {0, 5}, nullptr, 0}},
                    {{"format", "pt"}, {"note", "x y"}});

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "x y");
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.read_f32("w", {2, 3}), w);
  EXPECT_EQ(f.get("ids").dtype, "I64");
  EXPECT_EQ(f.get("ids").shape, (std::vector<std::int64_t>{4}));
  std::vector<std::int64_t> ids_back(4);
  std::memcpy(ids_back.data(), f.data("ids"), 32);
  EXPECT_EQ(ids_back, ids);
  EXPECT_EQ(f.read_f32("b", {2}), (std::vector<float>{1.0f, -3.0f}));
  auto a = f.read_f32("a", {2, 2});
  EXPECT_EQ(a[0], 1.0f);
  EXPECT_EQ(a[1], -2.0f);
  EXPECT_EQ(a[2], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(a[3]) && a[3] > 0);
  EXPECT_TRUE(f.read_f32("empty", {0, 5}).empty());

  // Layout as the reference writer makes it: 8-byte elements first, then 4, then 2, by name within a size.
  std::vector<std::string> order;
  for (const auto& t : f.tensors()) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"ids", "empty", "w", "a", "b"}));

  // Header length makes the data area 8-byte aligned, padded with spaces; no temporary file left behind.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  std::string header = bytes.substr(8, n);
  auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["ids"]["data_offsets"], nlohmann::json({0, 32}));
  EXPECT_EQ(header[header.find_last_not_of(' ')], '}');  // only spaces pad the JSON
  EXPECT_EQ(bytes.size(), 8 + n + 32 + 24 + 8 + 4);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(temp_dir()))
    if (e.path().filename().string().rfind("rt.safetensors", 0) == 0) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Safetensors, ReadsAHandWrittenReferenceFile) {
  // What the reference writes for {"x": tensor([1., 2.]), "y": int32 [[3]]}; header padded to 8-byte alignment.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("y":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::int32_t three = 3;
  std::string data = floats_bytes({1.0f, 2.0f}) + std::string(reinterpret_cast<char*>(&three), 4);
  auto f = SafetensorsFile::open(write_raw("ref.safetensors", header, data));
  EXPECT_EQ(f.read_f32("x", {2}), (std::vector<float>{1.0f, 2.0f}));
  std::int32_t y;
  std::memcpy(&y, f.data("y"), 4);
  EXPECT_EQ(y, 3);
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, ReadErrorsNameFileTensorExpectedAndFound) {
  const std::vector<std::int64_t> v = {1, 2};
  const std::string path = temp_dir() + "/err.safetensors";
  write_safetensors(path, {{"t", "I64", {2}, v.data(), 16}});
  auto f = SafetensorsFile::open(path);
  auto m = bad_input_message([&] { f.get("missing.weight"); });
  EXPECT_HAS(m, path);
  EXPECT_HAS(m, "missing.weight");
  m = bad_input_message([&] { f.read_f32("t", {2}); });
  EXPECT_HAS(m, "'t'");
  EXPECT_HAS(m, "F32");
  EXPECT_HAS(m, "I64");
  m = bad_input_message([&] { f.read_f32("t", {1, 2}); });
  EXPECT_HAS(m, "[1, 2]");
  EXPECT_HAS(m, "found [2]");
  m = bad_input_message([&] { SafetensorsFile::open(temp_dir() + "/nope.safetensors"); });
  EXPECT_HAS(m, "nope.safetensors");
}

struct Corruption {
  const char* name;
  std::string header;
  std::string data;
  std::int64_t header_len;
  const char* expect;  // a fragment the message must contain
  bool names_tensor = true;
};

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Safetensors, RejectsEveryCorruption) {
  const std::string d8 = floats_bytes({1.0f, 2.0f});
  const std::string entry_x = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::vector<Corruption> cases = {
      {"len_beyond_file", "{" + entry_x + "}", d8, 1000, "exceeds the file", false},
      {"not_json", R"({"x": {"dtype": "F32",)", d8, -1, "not valid JSON", false},
      {"not_object", "[1,2]", "", -1, "not an object", false},
      {"unknown_dtype", R"({"x":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", d8, -1, "unknown dtype 'F33'"},
      {"size_mismatch", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8, -1, "needs 12 bytes"},
      {"outside", R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d8, -1, "outside the data area"},
      {"overlap",
       R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       d8, -1, "overlaps"},
      {"gap", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8, -1, "gap of 4 bytes"},
      {"trailing", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8, -1, "trailing bytes"},
      {"duplicate", "{" + entry_x + "," + entry_x + "}", d8, -1, "more than once"},
      {"bad_offsets", R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", d8, -1, "data_offsets"},
      {"negative_shape", R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8, -1, "non-negative"},
      {"bad_metadata", R"({"__metadata__":{"k":3},)" + entry_x + "}", d8, -1, "must be a string", false},
      // Deep nesting anywhere in the header is refused before parsing, naming the limit.
      {"deep_shape", R"({"x":{"dtype":"F32","shape":)" + std::string(100000, '[') + std::string(100000, ']') + "}}", d8,
       -1, "nests JSON deeper than the limit of 64 levels", false},
      {"deep_metadata", R"({"__metadata__":{"k":)" + std::string(65, '[') + std::string(65, ']') + "}}", "", -1,
       "deeper than the limit", false},
      {"deep_offsets",
       R"({"x":{"dtype":"F32","shape":[2],"data_offsets":)" + std::string(70, '[') + "0" + std::string(70, ']') + "}}",
       d8, -1, "deeper than the limit", false},
      {"rank_65", R"({"x":{"dtype":"F32","shape":[)" + repeat("1,", 64) + R"(1],"data_offsets":[0,4]}})",
       d8.substr(0, 4), -1, "65 dimensions, more than the limit of 64"},
      {"wide_shape_entry", R"({"x":{"dtype":"F32","shape":[[)" + repeat("7,", 20000) + R"(7]],"data_offsets":[0,8]}})",
       d8, -1, "found [7,7,7,7"},
      {"long_name", R"({")" + std::string(100000, 'n') + R"(":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8,
       -1, "nnnn... (100000 bytes)", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string p = write_raw(std::string(c.name) + ".safetensors", c.header, c.data, c.header_len);
    auto m = bad_input_message([&] { SafetensorsFile::open(p); });
    EXPECT_HAS(m, p);
    EXPECT_HAS(m, c.expect);
    if (c.names_tensor) {
      EXPECT_HAS(m, "'x'");
    }
    EXPECT_LT(m.size(), 500u);  // values are quoted short, never dumped
  }
  // Shorter than the length field.
  std::string p = temp_dir() + "/short.safetensors";
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_HAS(bad_input_message([&] { SafetensorsFile::open(p); }), "too short");
}

TEST(Safetensors, WriteRejectsInconsistentTensors) {
  const float v[2] = {1, 2};
  const std::string p = temp_dir() + "/w.safetensors";
  EXPECT_HAS(bad_input_message([&] { write_safetensors(p, {{"a", "F32", {3}, v, 8}}); }), "needs 12 bytes");
  EXPECT_HAS(bad_input_message([&] { write_safetensors(p, {{"a", "Q4", {2}, v, 8}}); }), "unknown dtype");
  EXPECT_HAS(bad_input_message([&] {
               write_safetensors(p, {{"a", "F32", {2}, v, 8}, {"a", "F32", {2}, v, 8}});
             }),
             "given twice");
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace strata::io
