// HierarchicalClassifier::fit on borrowed rows (how the Python bindings fit numpy arrays in place): the same model
// as fitting the equivalent Dataset, byte for byte apart from the fit time, and the same refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "../common/temp_dir.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/core/rng.h"
#include "strata/hier/hierarchical.h"

namespace strata::hier {
namespace {

data::Dataset blobs(std::uint64_t seed) {
  data::Dataset ds;
  ds.d = 3;
  ds.classes = {"a", "b", "c", "d"};
  Rng rng(seed);
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 30; ++i) {
      for (std::size_t f = 0; f < ds.d; ++f) ds.x.push_back(static_cast<float>(3 * c * (f == 0) + rng.normal()));
      ds.y.push_back(c);
    }
  ds.n = ds.y.size();
  return ds;
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using HierarchicalRows = testing::TempDirTest;

TEST_F(HierarchicalRows, BorrowedRowsFitTheSameModelAsADataset) {
  const data::Dataset ds = blobs(1);
  const LabelTree tree = LabelTree::from_groups({0, 0, 1, 1}, ds.classes);
  HierarchicalConfig cfg;
  cfg.learner.forest.n_trees = 5;
  cfg.seed = 9;
  HierarchicalClassifier a(cfg), b(cfg);
  a.fit(ds, tree);
  b.fit(ds.x.data(), ds.n, ds.d, ds.y.data(), tree);
  std::vector<float> pa(ds.n * 4), pb(ds.n * 4);
  a.predict_proba(ds.x.data(), ds.n, ds.d, pa.data());
  b.predict_proba(ds.x.data(), ds.n, ds.d, pb.data());
  EXPECT_EQ(pa, pb);
  const std::string fa = path("rows_a.strata"), fb = path("rows_b.strata");
  a.save(fa);
  b.save(fb);
  std::string sa = read_all(fa), sb = read_all(fb);
  ASSERT_EQ(sa.size(), sb.size());
  // the only difference may be the recorded fit seconds (one double)
  std::size_t diff = 0, first = sa.size(), last = 0;
  for (std::size_t i = 0; i < sa.size(); ++i)
    if (sa[i] != sb[i]) ++diff, first = std::min(first, i), last = i;
  EXPECT_TRUE(diff == 0 || last - first < 8) << diff << " bytes differ from " << first << " to " << last;
}

TEST_F(HierarchicalRows, RefusesLabelsOutsideTheTreeAndEmptyData) {
  const data::Dataset ds = blobs(2);
  const LabelTree tree = LabelTree::flat(ds.classes);
  HierarchicalClassifier c(HierarchicalConfig{});
  std::vector<std::int32_t> y = ds.y;
  y[5] = 4;
  try {
    c.fit(ds.x.data(), ds.n, ds.d, y.data(), tree, nullptr, "X");
    FAIL() << "expected bad input";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("X: row 5 has label 4"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(c.fitted());
  EXPECT_THROW(c.fit(ds.x.data(), 0, ds.d, ds.y.data(), tree), Error);
}

}  // namespace
}  // namespace strata::hier
