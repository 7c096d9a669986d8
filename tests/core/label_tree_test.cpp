// LabelTree: construction, validation, JSON round trip, rejection of malformed trees.
#include "strata/core/label_tree.h"

#include <gtest/gtest.h>

#include "../common/error_matchers.h"
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
      EXPECT_NE(std::string(e.what()).find("t.json: tree.children[1]: \"name\" must be a string"), std::string::npos)
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

namespace {

// A caterpillar tree `depth` levels deep: every internal node has a leaf and an internal child, the last two leaves.
std::string caterpillar_json(int depth, const std::string& last_class) {
  std::string classes = "\"c0\"";
  for (int i = 1; i <= depth; ++i) classes += ",\"c" + std::to_string(i) + "\"";
  std::string s = "{\"classes\": [" + classes + "], \"tree\": ";
  for (int i = 0; i < depth - 1; ++i) s += "{\"children\": [{\"class\": \"c" + std::to_string(i) + "\"}, ";
  s += "{\"children\": [{\"class\": \"c" + std::to_string(depth - 1) + "\"}, {\"class\": \"" + last_class + "\"}]}";
  for (int i = 0; i < depth - 1; ++i) s += "]}";
  return s + "}";
}

}  // namespace

TEST(LabelTree, DeepTreeLoadsIterativelyAndSavesCompactly) {
  const int depth = 9000;
  const LabelTree t = LabelTree::from_json(caterpillar_json(depth, "c" + std::to_string(depth)), "deep.json");
  EXPECT_EQ(t.depth(), depth);
  EXPECT_EQ(t.num_classes(), depth + 1);
  const std::string out = t.to_json();
  EXPECT_LT(out.size(), 40u * t.nodes.size());  // linear in the nodes, not quadratic in the depth
  EXPECT_EQ(LabelTree::from_json(out, "again").to_json(), out);
  EXPECT_EQ(t.compacted().depth(), depth);
  EXPECT_NE(t.to_svg().find("</svg>"), std::string::npos);
}

TEST(LabelTree, TooDeepTreeIsRefusedNamingTheLimit) {
  for (int depth : {strata::kMaxTreeDepth + 1, 100000}) {
    std::string s = "{\"classes\": [\"a\"], \"tree\": ";
    for (int i = 0; i < depth; ++i) s += "{\"children\": [";
    s += "{\"class\": \"a\"}";
    for (int i = 0; i < depth; ++i) s += "]}";
    s += "}";
    const std::string m = strata::testing::bad_input_message([&] { LabelTree::from_json(s, "t.json"); });
    EXPECT_HAS(m, "t.json: the tree is deeper than the limit of 10000 levels");
  }
}

TEST(LabelTree, ErrorsNameTheNodeWithAShortPath) {
  const std::string deep =
      strata::testing::bad_input_message([] { LabelTree::from_json(caterpillar_json(5000, "zz"), "deep.json"); });
  EXPECT_HAS(deep, "deep.json: tree.children[1].children[1].children[1].children[1]... (4992 more levels) ...");
  EXPECT_HAS(deep, ".children[1]: class 'zz' is not in \"classes\"");
  EXPECT_LT(deep.size(), 400u);
  const std::string shallow = strata::testing::bad_input_message([] {
    LabelTree::from_json(R"({"classes":["a","b"],"tree":{"children":[{"class":"a"},{"children":[7]}]}})", "s.json");
  });
  EXPECT_HAS(shallow, "s.json: tree.children[1].children[0]: expected an object, found 7");
  std::string wide = R"({"classes":["a"],"tree":{"children":[{"class":[)";
  for (int i = 0; i < 100000; ++i) wide += "1,";
  wide += "1]}]}}";
  const std::string w = strata::testing::bad_input_message([&] { LabelTree::from_json(wide, "w.json"); });
  EXPECT_HAS(w, "w.json: tree.children[0]: \"class\" must be a string, found [1,1,1,");
  EXPECT_LT(w.size(), 200u);
  EXPECT_HAS(strata::testing::bad_input_message([] {
               LabelTree::from_json(R"({"classes":["a"],"tree":{"name":{"x":1},"children":[{"class":"a"}]}})", "n");
             }),
             "n: tree: \"name\" must be a string");
  EXPECT_HAS(strata::testing::bad_input_message([] { LabelTree::from_json("{\"classes\": [", "cut.json"); }),
             "cut.json: not valid JSON at byte");
}

TEST(LabelTree, IntegerClassNamesStillMatch) {
  const LabelTree t = LabelTree::from_json(R"({"classes":["1","2"],"tree":{"children":[{"class":1},{"class":2}]}})");
  EXPECT_EQ(t.num_classes(), 2);
}
