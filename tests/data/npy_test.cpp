// NumPy .npy reader/writer: header versions, dtypes, byte order, shapes, labels from .npy or .txt, and the
// refusals (Fortran order, truncation, bad magic/dict/dtype, mismatched counts) with file and offset.
#include "strata/data/npy.h"

#include <cmath>
#include <cstring>
#include <iterator>

#include <gtest/gtest.h>

#include "strata/data/dataset.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;
using testing::write_temp;

// A .npy file image: magic, version, header dict padded to 64 bytes, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, int version = 1) {
  std::string h = dict;
  const std::size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  if (version == 1) {
    out += static_cast<char>(h.size() & 0xff);
    out += static_cast<char>(h.size() >> 8);
  } else {
    for (int k = 0; k < 4; ++k) out += static_cast<char>((h.size() >> (8 * k)) & 0xff);
  }
  return out + h + data;
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
}

TEST(Npy, SaveThenLoadRoundTripsWithTextLabels) {
  const std::vector<float> x = {0.25f, -1.5f, 3e-8f, 7, 8, 9};  // (3, 2)
  const std::string xp = temp_path("emb.npy"), lp = temp_path("emb_labels.txt");
  save_npy(xp, x.data(), 3, 2);
  save_labels_txt(lp, {"zebra", "ant", "zebra"});
  LoadOptions o;
  o.labels_path = lp;
  Dataset ds = load(xp, o);
  EXPECT_EQ(ds.n, 3u);
  EXPECT_EQ(ds.d, 2u);
  EXPECT_EQ(ds.x, x);
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{1, 0, 1}));
  // The header is what np.save writes: 64-byte aligned data, '<f4', C order.
  std::string bytes;
  {
    std::ifstream in(xp, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  NpyHeader h = parse_npy_header(bytes, xp);
  EXPECT_EQ(h.data_offset % 64, 0u);
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_EQ(h.shape, (std::vector<std::size_t>{3, 2}));
}

TEST(Npy, DatasetRoundTripKeepsClassIdsWithGivenClassOrder) {
  Dataset src;
  src.n = 4;
  src.d = 1;
  src.x = {1, 2, 3, 4};
  src.y = {0, 1, 2, 0};
  src.classes = {"T-shirt/top", "Trouser", "Bag"};  // not sorted: reading back needs the class list
  save_npy(temp_path("rt.npy"), src.x.data(), src.n, src.d);
  save_labels_txt(temp_path("rt.txt"), src.label_names());
  LoadOptions o;
  o.labels_path = temp_path("rt.txt");
  o.classes = src.classes;
  Dataset back = load(temp_path("rt.npy"), o);
  EXPECT_EQ(back.y, src.y);
  EXPECT_EQ(back.classes, src.classes);
}

TEST(Npy, ReadsDtypesVersionsByteOrderAndShapes) {
  auto lab = write_temp("lab4.txt", "1\n2\n1\n2\n");
  LoadOptions o;
  o.labels_path = lab;
  // float64, version 2
  auto p = write_temp("f8.npy", npy_bytes(dict("<f8", "(4, 1)"), raw(std::vector<double>{0.5, 1.5, 2.5, 3.5}), 2));
  EXPECT_EQ(load(p, o).x, (std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f}));
  // uint8 (values kept, not rescaled), version 3, 1-D treated as (n, 1)
  p = write_temp("u1.npy", npy_bytes(dict("|u1", "(4,)"), raw(std::vector<std::uint8_t>{0, 255, 7, 9}), 3));
  Dataset u = load(p, o);
  EXPECT_EQ(u.d, 1u);
  EXPECT_EQ(u.x, (std::vector<float>{0, 255, 7, 9}));
  // big-endian float32
  std::vector<float> f = {1.0f, -2.0f, 0.125f, 4.0f};
  std::string be = raw(f);
  for (std::size_t i = 0; i < be.size(); i += 4) std::swap(be[i], be[i + 3]), std::swap(be[i + 1], be[i + 2]);
  p = write_temp("be.npy", npy_bytes(dict(">f4", "(4, 1)"), be));
  EXPECT_EQ(load(p, o).x, f);
  // (n, 2, 2) flattens to (n, 4) in C order
  std::vector<float> cube(16);
  for (int i = 0; i < 16; ++i) cube[i] = static_cast<float>(i);
  p = write_temp("cube.npy", npy_bytes(dict("<f4", "(4, 2, 2)"), raw(cube)));
  Dataset c = load(p, o);
  EXPECT_EQ(c.d, 4u);
  EXPECT_EQ(c.x, cube);
}

TEST(Npy, LabelsFromIntegerNpy) {
  auto xp = write_temp("x3.npy", npy_bytes(dict("<f4", "(3, 1)"), raw(std::vector<float>{1, 2, 3})));
  LoadOptions o;
  o.labels_path = write_temp("y32.npy", npy_bytes(dict("<i4", "(3,)"), raw(std::vector<std::int32_t>{12, 3, 12})));
  Dataset a = load(xp, o);
  EXPECT_EQ(a.classes, (std::vector<std::string>{"3", "12"}));
  EXPECT_EQ(a.y, (std::vector<std::int32_t>{1, 0, 1}));
  o.labels_path = write_temp("y64.npy", npy_bytes(dict("<i8", "(3, 1)"), raw(std::vector<std::int64_t>{-5, 0, -5})));
  EXPECT_EQ(load(xp, o).classes, (std::vector<std::string>{"-5", "0"}));
  o.labels_path = write_temp("yu8.npy", npy_bytes(dict("|u1", "(3,)"), raw(std::vector<std::uint8_t>{2, 1, 1})));
  EXPECT_EQ(load(xp, o).y, (std::vector<std::int32_t>{1, 0, 0}));
  o.labels_path = write_temp("yf.npy", npy_bytes(dict("<f8", "(3,)"), raw(std::vector<double>{1.0, 2.0, 1.5})));
  auto msg = bad_input_message([&] { load(xp, o); });
  EXPECT_HAS(msg, "yf.npy");
  EXPECT_HAS(msg, "label 2");
  o.labels_path = write_temp("y2d.npy", npy_bytes(dict("<i4", "(3, 2)"), raw(std::vector<std::int32_t>(6, 1))));
  EXPECT_HAS(bad_input_message([&] { load(xp, o); }), "(3, 2)");
}

TEST(Npy, LabelsTextFileRules) {
  auto xp = write_temp("x4.npy", npy_bytes(dict("<f4", "(4, 1)"), raw(std::vector<float>{1, 2, 3, 4})));
  LoadOptions o;
  o.labels_path = write_temp("ints.txt", "10\r\n9\r\n10\r\n100\r\n\r\n");
  EXPECT_EQ(load(xp, o).classes, (std::vector<std::string>{"9", "10", "100"}));
  o.labels_path = write_temp("blank_mid.txt", "a\nb\n\nc\nd\n");
  auto msg = bad_input_message([&] { load(xp, o); });
  EXPECT_HAS(msg, "blank_mid.txt:3");
  o.labels_path = write_temp("empty_labels.txt", "");
  EXPECT_HAS(bad_input_message([&] { load(xp, o); }), "empty_labels.txt: file is empty");
}

TEST(Npy, CountMismatchNamesBothFilesAndCounts) {
  auto xp = write_temp("feat5.npy", npy_bytes(dict("<f4", "(5, 1)"), raw(std::vector<float>(5, 1.0f))));
  LoadOptions o;
  o.labels_path = write_temp("lab3.txt", "a\nb\na\n");
  auto msg = bad_input_message([&] { load(xp, o); });
  EXPECT_HAS(msg, "feat5.npy");
  EXPECT_HAS(msg, "lab3.txt");
  EXPECT_HAS(msg, "5 rows");
  EXPECT_HAS(msg, "3 labels");
}

TEST(Npy, RequiresLabelsPath) {
  auto xp = write_temp("nolabels.npy", npy_bytes(dict("<f4", "(2, 1)"), raw(std::vector<float>{1, 2})));
  auto msg = bad_input_message([&] { load(xp); });
  EXPECT_HAS(msg, "nolabels.npy");
  EXPECT_HAS(msg, "labels");
}

TEST(Npy, RejectsMalformedFiles) {
  LoadOptions o;
  o.labels_path = write_temp("lab2.txt", "a\nb\n");
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& want) {
    auto p = write_temp(name, bytes);
    auto msg = bad_input_message([&] { load(p, o); });
    EXPECT_HAS(msg, name);
    EXPECT_HAS(msg, want);
  };
  const std::string two = raw(std::vector<float>{1, 2});
  check("fortran.npy", npy_bytes(dict("<f4", "(2, 1)", true), two), "Fortran");
  check("short.npy", npy_bytes(dict("<f4", "(2, 3)"), two), "needs 24 bytes");
  check("short2.npy", npy_bytes(dict("<f4", "(2, 3)"), two), "found 8");
  check("long.npy", npy_bytes(dict("<f4", "(2,)"), two + "xx"), "2 unexpected bytes");
  check("magic.npy", "PK\x03\x04 not numpy at all", "offset 0");
  check("empty.npy", "", "file is empty");
  check("version.npy", npy_bytes(dict("<f4", "(2,)"), two, 9), "version 9");
  check("dict.npy", npy_bytes("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", two), "True or False");
  check("dict2.npy", npy_bytes("{'descr': '<f4', 'shape': (2,), }", two), "fortran_order");
  check("struct.npy", npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", two),
        "structured");
  check("complex.npy", npy_bytes(dict("<c8", "(2,)"), two + two), "'<c8'");
  check("scalar.npy", npy_bytes(dict("<f4", "()"), raw(std::vector<float>{1})), "scalar");
  check("nan.npy", npy_bytes(dict("<f4", "(2,)"), raw(std::vector<float>{1, NAN})), "finite");
  std::string hdr = npy_bytes(dict("<f4", "(2,)"), two);
  check("cut_header.npy", hdr.substr(0, 30), "truncated .npy header");
}

TEST(Npy, SaveLabelsRejectsLineBreaksAndEmptyNames) {
  EXPECT_HAS(bad_input_message([&] { save_labels_txt(temp_path("bad.txt"), {"a", "b\nc"}); }), "row 1");
  EXPECT_HAS(bad_input_message([&] { save_labels_txt(temp_path("bad.txt"), {"", "b"}); }), "row 0");
}

}  // namespace
}  // namespace strata::data
