// LabelTree: construction, validation, JSON round trip, rejection of malformed trees.
#include "strata/core/label_tree.h"

#include <gtest/gtest.h>

#include "strata/core/error.h"

using strata::LabelTree;

TEST(LabelTree, FromGroupsPartitionsClasses) {
  auto t = LabelTree::from_groups({1, 0, 1, 2}, {"a", "b", "c", "d"});
  t.validate();
  EXPECT_EQ(t.depth(), 2);
  EXPECT_EQ(t.nodes[0].children.size(), 3u);
  auto g = t.top_level_groups();
  EXPECT_EQ(g[0], g[2]);
  EXPECT_NE(g[0], g[1]);
  EXPECT_NE(g[1], g[3]);
  EXPECT_EQ(t.classes_under(t.nodes[0].children[0]), (std::vector<int>{0, 2}));
}

TEST(LabelTree, JsonRoundTrip) {
  auto t = LabelTree::from_groups({0, 0, 1, 1, 1}, {"a", "b", "c", "d", "e"});
  auto u = LabelTree::from_json(t.to_json());
  EXPECT_EQ(u.to_json(), t.to_json());
  EXPECT_EQ(u.top_level_groups(), t.top_level_groups());
}

TEST(LabelTree, FromMergesBuildsBinaryTree) {
  // ((0,1),(2,3)) then merge with 4
  auto t = LabelTree::from_merges({{0, 1}, {2, 3}, {5, 6}, {4, 7}}, {"a", "b", "c", "d", "e"});
  EXPECT_EQ(t.depth(), 3);
  EXPECT_EQ(t.classes_under(0).size(), 5u);
}

TEST(LabelTree, RejectsClassInTwoLeaves) {
  const char* js = R"({"classes":["a","b"],"tree":{"children":[{"class":"a"},{"class":"a"}]}})";
  try {
    LabelTree::from_json(js, "t.json");
    FAIL();
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), strata::ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("t.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'a'"), std::string::npos);
  }
}

TEST(LabelTree, RejectsUnknownClassAndMissingClass) {
  EXPECT_THROW(LabelTree::from_json(R"({"classes":["a","b"],"tree":{"children":[{"class":"a"},{"class":"z"}]}})"),
               strata::Error);
  EXPECT_THROW(LabelTree::from_json(R"({"classes":["a","b"],"tree":{"children":[{"class":"a"}]}})"), strata::Error);
  EXPECT_THROW(LabelTree::from_json("{not json"), strata::Error);
}

// Found by fuzz/label_tree_fuzz.cpp: a number beyond double is nlohmann's out_of_range, not a parse_error, and
// escaped as an internal error (exit 1).
// Found by fuzz/label_tree_fuzz.cpp: a group "name" that is not a string escaped as nlohmann's type_error (exit 1).
TEST(LabelTree, NonStringNameIsBadInput) {
  for (const char* name : {"null", "3", "[\"g\"]"}) {
    const std::string js = std::string(R"({"classes":["a","b"],"tree":{"children":[{"class":"a"},)") +
                           R"({"name":)" + name + R"(,"children":[{"class":"b"}]}]}})";
    try {
      LabelTree::from_json(js, "t.json");
      FAIL() << "no error for name " << name;
    } catch (const strata::Error& e) {
      EXPECT_EQ(e.code(), strata::ExitCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find("t.json: tree.children[1].name: expected a string"), std::string::npos)
          << e.what();
    }
  }
}

TEST(LabelTree, NumberBeyondDoubleIsBadInput) {
  try {
    LabelTree::from_json(R"({"classes":["a","b"],"tree":{"children":[{"class":"a"},{"class":"b"}]},"x":1e309})",
                         "t.json");
    FAIL() << "no error";
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), strata::ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("t.json: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(LabelTree, CompactedRemovesChains) {
  auto t = LabelTree::from_groups({0, 1, 1}, {"a", "b", "c"});  // group 0 holds one class: a chain
  auto c = t.compacted();
  c.validate();
  EXPECT_EQ(c.nodes.size(), t.nodes.size() - 1);
  EXPECT_EQ(c.top_level_groups().size(), 3u);
}

TEST(LabelTree, SvgAndDotNameEveryClass) {
  auto t = LabelTree::from_groups({0, 1}, {"x<y", "b"});
  auto svg = t.to_svg();
  EXPECT_NE(svg.find("x&lt;y"), std::string::npos);
  EXPECT_NE(t.to_dot().find("digraph"), std::string::npos);
}
