// IDX / Fashion-MNIST reader: tiny gzip and plain IDX files written here, pointed at with
// STRATA_FASHION_MNIST_DIR; header, count and label validation; and the real data set when installed.
#include "strata/data/idx.h"

#include <sys/stat.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "strata/data/dataset.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;
using testing::write_temp;
using testing::write_temp_gz;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, const std::string& pixels) {
  return be32(0x803) + be32(n) + be32(rows) + be32(cols) + pixels;
}

std::string idx_labels(const std::vector<unsigned char>& labels) {
  return be32(0x801) + be32(static_cast<std::uint32_t>(labels.size())) + std::string(labels.begin(), labels.end());
}

std::string pixels(std::size_t count) {
  std::string p(count, '\0');
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<char>((i * 37) % 256);
  return p;
}

struct ScopedFashionDir {
  std::string old;
  bool had;
  explicit ScopedFashionDir(const std::string& dir) {
    const char* o = std::getenv("STRATA_FASHION_MNIST_DIR");
    had = o != nullptr;
    if (had) old = o;
    ::setenv("STRATA_FASHION_MNIST_DIR", dir.c_str(), 1);
  }
  ~ScopedFashionDir() {
    if (had)
      ::setenv("STRATA_FASHION_MNIST_DIR", old.c_str(), 1);
    else
      ::unsetenv("STRATA_FASHION_MNIST_DIR");
  }
};

std::string make_dir(const std::string& name) {
  std::string d = temp_path(name);
  ::mkdir(d.c_str(), 0755);
  return d;
}

TEST(Idx, FashionMnistFromGzipFixtureScalesPixelsAndNamesClasses) {
  const std::string dir = make_dir("fm_gz");
  const std::string px = pixels(5 * 3 * 2);
  write_temp_gz("fm_gz/train-images-idx3-ubyte.gz", idx_images(5, 3, 2, px));
  write_temp_gz("fm_gz/train-labels-idx1-ubyte.gz", idx_labels({9, 0, 3, 9, 1}));
  ScopedFashionDir env(dir);
  Dataset ds = load("fashion-mnist:train");
  ASSERT_EQ(ds.n, 5u);
  ASSERT_EQ(ds.d, 6u);
  for (std::size_t i = 0; i < px.size(); ++i)
    ASSERT_EQ(ds.x[i], static_cast<float>(static_cast<unsigned char>(px[i])) / 255.0f) << i;
  ASSERT_EQ(ds.classes.size(), 10u);
  EXPECT_EQ(ds.classes[0], "T-shirt/top");
  EXPECT_EQ(ds.classes[9], "Ankle boot");
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{9, 0, 3, 9, 1}));  // ids are the label values
  EXPECT_EQ(ds.source, "fashion-mnist:train");
  // The test split is absent from this directory: the message says where it looked and how to fix it.
  auto msg = bad_input_message([] { load("fashion-mnist:test"); });
  EXPECT_HAS(msg, dir + "/t10k-images-idx3-ubyte");
  EXPECT_HAS(msg, "STRATA_FASHION_MNIST_DIR");
}

TEST(Idx, AcceptsUncompressedFilesAndGenericIdxSpec) {
  const std::string dir = make_dir("fm_plain");
  write_temp("fm_plain/t10k-images-idx3-ubyte", idx_images(3, 1, 2, std::string("\x00\xff\x80\x01\x02\x03", 6)));
  write_temp("fm_plain/t10k-labels-idx1-ubyte", idx_labels({4, 4, 2}));
  {
    ScopedFashionDir env(dir);
    Dataset ds = load("fashion-mnist:test");
    EXPECT_EQ(ds.x, (std::vector<float>{0.0f, 1.0f, 128.0f / 255.0f, 1.0f / 255.0f, 2.0f / 255.0f, 3.0f / 255.0f}));
    EXPECT_EQ(ds.y, (std::vector<std::int32_t>{4, 4, 2}));
  }
  Dataset g = load("idx:" + dir + "/t10k-images-idx3-ubyte," + dir + "/t10k-labels-idx1-ubyte");
  EXPECT_EQ(g.classes, (std::vector<std::string>{"2", "4"}));  // distinct values, increasing
  EXPECT_EQ(g.y, (std::vector<std::int32_t>{1, 1, 0}));
  EXPECT_EQ(g.d, 2u);
}

TEST(Idx, RejectsBadMagicSwappedFilesAndZeroDims) {
  auto img = write_temp("i.idx", idx_images(2, 2, 2, pixels(8)));
  auto lab = write_temp("l.idx", idx_labels({0, 1}));
  auto msg = bad_input_message([&] { load_idx(lab, img); });  // swapped; the labels file is read first
  EXPECT_HAS(msg, "i.idx: offset 0");
  EXPECT_HAS(msg, "0x00000801");
  EXPECT_HAS(msg, "this is an images file");
  auto junk = write_temp("junk.idx", "GIF89a........");
  EXPECT_HAS(bad_input_message([&] { load_idx(junk, lab); }), "not an IDX file");
  auto f32 = write_temp("float.idx", be32(0xD03) + be32(2) + be32(1) + be32(1) + std::string(8, '\0'));
  EXPECT_HAS(bad_input_message([&] { load_idx(f32, lab); }), "only unsigned byte");
  auto zero = write_temp("zero.idx", idx_images(2, 0, 2, ""));
  EXPECT_HAS(bad_input_message([&] { load_idx(zero, lab); }), "zero.idx: offset 8: dimension 1 is 0");
  auto empty = write_temp("empty.idx", "");
  EXPECT_HAS(bad_input_message([&] { load_idx(empty, lab); }), "empty.idx: file is empty");
}

TEST(Idx, RejectsTruncatedAndOverlongFilesWithByteCounts) {
  auto lab = write_temp("l3.idx", idx_labels({0, 1, 2}));
  auto cut = write_temp_gz("cut.idx.gz", idx_images(3, 4, 4, pixels(40)));
  auto msg = bad_input_message([&] { load_idx(cut, lab); });
  EXPECT_HAS(msg, "cut.idx.gz");
  EXPECT_HAS(msg, "need 64 bytes");
  EXPECT_HAS(msg, "found 56");
  auto lng = write_temp("long.idx", idx_images(3, 1, 1, pixels(5)));
  EXPECT_HAS(bad_input_message([&] { load_idx(lng, lab); }), "2 unexpected bytes");
  auto hdr = write_temp("hdr.idx", be32(0x803) + be32(3));
  EXPECT_HAS(bad_input_message([&] { load_idx(hdr, lab); }), "truncated IDX header");
}

TEST(Idx, RejectsCountMismatchAndOutOfRangeFashionLabels) {
  auto img = write_temp("i3.idx", idx_images(3, 1, 1, pixels(3)));
  auto lab2 = write_temp("l2.idx", idx_labels({0, 1}));
  auto msg = bad_input_message([&] { load_idx(img, lab2); });
  EXPECT_HAS(msg, "i3.idx holds 3 images");
  EXPECT_HAS(msg, "l2.idx holds 2 labels");

  const std::string dir = make_dir("fm_range");
  write_temp("fm_range/train-images-idx3-ubyte", idx_images(3, 1, 1, pixels(3)));
  write_temp("fm_range/train-labels-idx1-ubyte", idx_labels({0, 12, 1}));
  ScopedFashionDir env(dir);
  msg = bad_input_message([] { load("fashion-mnist:train"); });
  EXPECT_HAS(msg, "train-labels-idx1-ubyte: offset 9");
  EXPECT_HAS(msg, "label 12");
}

TEST(Idx, RejectsCorruptAndTruncatedGzip) {
  auto lab = write_temp("lz.idx", idx_labels({0, 1}));
  std::string good;
  {
    auto p = write_temp_gz("good.gz", idx_images(2, 16, 16, pixels(512)));
    std::ifstream in(p, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto trunc = write_temp("trunc.idx.gz", good.substr(0, good.size() / 2));
  EXPECT_HAS(bad_input_message([&] { load_idx(trunc, lab); }), "trunc.idx.gz");
  std::string bad = good;
  for (std::size_t i = 12; i < bad.size() - 8; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  auto corrupt = write_temp("corrupt.idx.gz", bad);
  EXPECT_HAS(bad_input_message([&] { load_idx(corrupt, lab); }), "corrupt.idx.gz");
}

TEST(Idx, OneClassIsRefused) {
  auto img = write_temp("i2.idx", idx_images(2, 1, 1, pixels(2)));
  auto lab = write_temp("same.idx", idx_labels({5, 5}));
  EXPECT_HAS(bad_input_message([&] { load_idx(img, lab); }), "at least 2 classes");
}

TEST(Idx, RealFashionMnistTestSplit) {
  const char* env = std::getenv("STRATA_FASHION_MNIST_DIR");
  if (env && *env) GTEST_SKIP() << "STRATA_FASHION_MNIST_DIR is set; this test reads the installed data set";
  struct stat st;
  if (::stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &st) != 0)
    GTEST_SKIP() << "Fashion-MNIST is not installed (apt package dataset-fashion-mnist)";
  Dataset ds = load("fashion-mnist:test");
  EXPECT_EQ(ds.n, 10000u);
  EXPECT_EQ(ds.d, 784u);
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.class_counts(), std::vector<std::size_t>(10, 1000));
  float lo = 1, hi = 0;
  for (float v : ds.x) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

}  // namespace
}  // namespace strata::data
