// Label encoding: the class order rule (numeric when every label is an integer, else lexicographic), integer
// canonicalisation, and remapping to a given class list.
#include "strata/data/labels.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace strata::data {
namespace {

TEST(Labels, NumericOrderWhenAllIntegers) {
  auto e = encode_text_labels({"10", "2", "-3", "+2", "2.0", "100"});
  EXPECT_EQ(e.classes, (std::vector<std::string>{"-3", "2", "10", "100"}));
  EXPECT_EQ(e.y, (std::vector<std::int32_t>{2, 1, 0, 1, 1, 3}));
}

TEST(Labels, LexicographicOtherwise) {
  auto e = encode_text_labels({"10", "2", "x", "2"});
  EXPECT_EQ(e.classes, (std::vector<std::string>{"10", "2", "x"}));
  EXPECT_EQ(e.y, (std::vector<std::int32_t>{0, 1, 2, 1}));
  auto f = encode_text_labels({"2.5", "10"});  // 2.5 is not an integer
  EXPECT_EQ(f.classes, (std::vector<std::string>{"10", "2.5"}));
}

TEST(Labels, IntLabelsLargeAndNegativeValues) {
  auto e = encode_int_labels({1000000, -7, 1000000, 3});
  EXPECT_EQ(e.classes, (std::vector<std::string>{"-7", "3", "1000000"}));
  EXPECT_EQ(e.y, (std::vector<std::int32_t>{2, 0, 2, 1}));
  auto s = encode_int_labels({4, 0, 4});
  EXPECT_EQ(s.classes, (std::vector<std::string>{"0", "4"}));
  EXPECT_EQ(s.y, (std::vector<std::int32_t>{1, 0, 1}));
}

TEST(Labels, FinishAppliesGivenOrderAndChecksClassCount) {
  Dataset ds;
  LoadOptions o;
  o.classes = {"b", "a", "c"};
  finish_labels(ds, encode_text_labels({"a", "b", "a"}), o, "f.txt");
  EXPECT_EQ(ds.classes, o.classes);
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{1, 0, 1}));

  // With a given class list, a file holding one of its classes is fine (a small test split).
  Dataset one;
  finish_labels(one, encode_text_labels({"c", "c"}), o, "f.txt");
  EXPECT_EQ(one.y, (std::vector<std::int32_t>{2, 2}));

  Dataset dup;
  o.classes = {"a", "a"};
  EXPECT_HAS(testing::bad_input_message([&] { finish_labels(dup, encode_text_labels({"a"}), o, "f.txt"); }),
             "appears twice");
  Dataset single;
  auto msg = testing::bad_input_message([&] { finish_labels(single, encode_text_labels({"a", "a"}), {}, "f.txt"); });
  EXPECT_HAS(msg, "f.txt");
  EXPECT_HAS(msg, "'a'");
}

}  // namespace
}  // namespace strata::data
