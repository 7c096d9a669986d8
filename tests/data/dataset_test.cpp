// Dataset helpers and the load() dispatcher: subset, class counts, per-class subsampling (counts, determinism,
// order), spec dispatch and its refusals (unknown spec, missing file, options that do not apply).
#include "strata/data/dataset.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_dir;
using testing::write_temp;

// n rows, d = 2; row i holds (i, -i); class of row i given by cls(i).
Dataset synthetic(std::size_t n, int k, std::size_t skew = 0) {
  Dataset ds;
  ds.n = n;
  ds.d = 2;
  for (int c = 0; c < k; ++c) ds.classes.push_back("c" + std::to_string(c));
  for (std::size_t i = 0; i < n; ++i) {
    ds.x.push_back(static_cast<float>(i));
    ds.x.push_back(-static_cast<float>(i));
    // With skew, class 0 gets an extra share of rows.
    ds.y.push_back(i < skew ? 0 : static_cast<std::int32_t>(i % static_cast<std::size_t>(k)));
  }
  return ds;
}

TEST(Dataset, SubsetCopiesRowsAndKeepsClasses) {
  Dataset ds = synthetic(10, 3);
  Dataset s = ds.subset({7, 2, 2});
  EXPECT_EQ(s.n, 3u);
  EXPECT_EQ(s.d, 2u);
  EXPECT_EQ(s.x, (std::vector<float>{7, -7, 2, -2, 2, -2}));
  EXPECT_EQ(s.y, (std::vector<std::int32_t>{1, 2, 2}));
  EXPECT_EQ(s.classes, ds.classes);
  EXPECT_THROW(ds.subset({10}), strata::Error);
}

TEST(Dataset, ClassCountsAndLabelNames) {
  Dataset ds = synthetic(10, 3);
  EXPECT_EQ(ds.class_counts(), (std::vector<std::size_t>{4, 3, 3}));
  auto names = ds.label_names();
  EXPECT_EQ(names[0], "c0");
  EXPECT_EQ(names[5], "c2");
}

TEST(Dataset, SubsamplePerClassCapsCountsWithoutReplacementInRowOrder) {
  Dataset ds = synthetic(1000, 4, 400);  // class 0: 400 + 150 rows, the others 150 each
  Dataset s = subsample_per_class(ds, 100, 42);
  EXPECT_EQ(s.class_counts(), (std::vector<std::size_t>{100, 100, 100, 100}));
  // Rows are distinct originals, in increasing original order, and keep their labels.
  std::vector<float> first_col;
  for (std::size_t i = 0; i < s.n; ++i) {
    const float orig = s.row(i)[0];
    first_col.push_back(orig);
    EXPECT_EQ(s.y[i], ds.y[static_cast<std::size_t>(orig)]);
  }
  EXPECT_TRUE(std::is_sorted(first_col.begin(), first_col.end()));
  EXPECT_EQ(std::set<float>(first_col.begin(), first_col.end()).size(), first_col.size());

  // Classes with fewer rows than asked are kept whole.
  Dataset all = subsample_per_class(ds, 200, 42);
  EXPECT_EQ(all.class_counts(), (std::vector<std::size_t>{200, 150, 150, 150}));
  EXPECT_HAS(bad_input_message([&] { subsample_per_class(ds, 0, 1); }), "at least 1");
}

TEST(Dataset, SubsampleIsDeterministicForASeedAndVariesAcrossSeeds) {
  Dataset ds = synthetic(600, 3);
  Dataset a = subsample_per_class(ds, 50, 7), b = subsample_per_class(ds, 50, 7), c = subsample_per_class(ds, 50, 8);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  EXPECT_NE(a.x, c.x);
  // Every row is chosen sometimes: the draw is not just the first per_class rows of each class.
  std::set<float> seen;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Dataset s = subsample_per_class(ds, 50, seed);
    for (std::size_t i = 0; i < s.n; ++i) seen.insert(s.row(i)[0]);
  }
  EXPECT_GT(seen.size(), 590u);
}

TEST(Dataset, LoadRejectsUnknownSpecsListingAcceptedOnes) {
  auto msg = bad_input_message([] { load("cifar10:train"); });
  EXPECT_HAS(msg, "cifar10:train");
  EXPECT_HAS(msg, "fashion-mnist:train");
  EXPECT_HAS(msg, ".csv");
  EXPECT_HAS(msg, ".npy");
  EXPECT_HAS(bad_input_message([] { load("data.parquet"); }), "extension .parquet");
  EXPECT_HAS(bad_input_message([] { load(""); }), "no data spec");
  EXPECT_HAS(bad_input_message([] { load("fashion-mnist:validation"); }), "fashion-mnist:test");
  EXPECT_HAS(bad_input_message([] { load("fashion-mnist"); }), "fashion-mnist:train");
  EXPECT_HAS(bad_input_message([] { load("idx:onlyone"); }), "idx:IMAGES,LABELS");
}

TEST(Dataset, LoadNamesMissingFilesAndDirectories) {
  const std::string missing = temp_dir() + "/nope.csv";
  auto msg = bad_input_message([&] { load(missing); });
  EXPECT_HAS(msg, missing);
  EXPECT_HAS(msg, "cannot open");
  const std::string dir = temp_dir() + "/adir.csv";
  std::filesystem::create_directories(dir);
  EXPECT_HAS(bad_input_message([&] { load(dir); }), "is a directory");
}

TEST(Dataset, LoadRefusesOptionsThatDoNotApply) {
  auto csv = write_temp("opts.csv", "a,label\n1,x\n2,y\n");
  LoadOptions o;
  o.labels_path = "labels.txt";
  EXPECT_HAS(bad_input_message([&] { load(csv, o); }), "opts.csv");
  LoadOptions m;
  m.missing = Missing::kZero;
  EXPECT_HAS(bad_input_message([&] { load("fashion-mnist:train", m); }), "fashion-mnist");
}

}  // namespace
}  // namespace strata::data
