// LoadOptions::unlabelled (strata predict on unlabelled data): a CSV's every column is a feature, on the one-pass
// and the general path alike; a .npy needs no labels file; labels stay empty. csv_columns reads the header.
#include <gtest/gtest.h>

#include "strata/data/csv.h"
#include "strata/data/dataset.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;
using testing::write_temp;

LoadOptions unlabelled() {
  LoadOptions o;
  o.unlabelled = true;
  return o;
}

TEST(Unlabelled, CsvReadsEveryColumnAsAFeature) {
  // row 2 takes the general tokenizer (quotes, spaces), row 3 ends without a newline
  auto p = write_temp("nolabel.csv", "a,b,c\n1,2,3\n \"4\" , 5.5,6\n7,8,-9");
  Dataset ds = load(p, unlabelled());
  ASSERT_EQ(ds.n, 3u);
  ASSERT_EQ(ds.d, 3u);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4, 5.5f, 6, 7, 8, -9}));
  EXPECT_TRUE(ds.y.empty());
  EXPECT_TRUE(ds.classes.empty());
  EXPECT_EQ(csv_columns(p), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Unlabelled, CsvSingleColumnAndMissingValues) {
  auto p = write_temp("one.csv", "a\n1\n\n2\n");
  Dataset ds = load(p, unlabelled());
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2}));
  auto q = write_temp("gap.csv", "a,b\n1,\n3,4\n");
  EXPECT_NE(bad_input_message([&] { load(q, unlabelled()); }).find("missing value"), std::string::npos);
  LoadOptions o = unlabelled();
  o.missing = Missing::kMean;
  EXPECT_EQ(load(q, o).x, (std::vector<float>{1, 4, 3, 4}));
}

TEST(Unlabelled, CsvRefusesANamedLabelColumnAndText) {
  auto p = write_temp("text.csv", "a,b\n1,x\n");
  EXPECT_NE(bad_input_message([&] { load(p, unlabelled()); }).find("expected a number"), std::string::npos);
  LoadOptions o = unlabelled();
  o.label_column = "b";
  EXPECT_NE(bad_input_message([&] { load(p, o); }).find("read unlabelled"), std::string::npos);
}

TEST(Unlabelled, NpyNeedsNoLabelsFile) {
  const std::vector<float> x{1, 2, 3, 4, 5, 6};
  save_npy(temp_path("nolabel.npy"), x.data(), 3, 2);
  Dataset ds = load(temp_path("nolabel.npy"), unlabelled());
  EXPECT_EQ(ds.n, 3u);
  EXPECT_EQ(ds.d, 2u);
  EXPECT_EQ(ds.x, x);
  EXPECT_TRUE(ds.y.empty());
  // labelled reading still insists on the labels file
  EXPECT_NE(bad_input_message([&] { load(temp_path("nolabel.npy")); }).find("give the labels file"), std::string::npos);
}

}  // namespace
}  // namespace strata::data
