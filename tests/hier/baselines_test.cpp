// Tests for src/strata/hier/baselines.cpp: random trees keep the shape, resource matching counts models.
#include "strata/hier/baselines.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace strata::hier {
namespace {

std::vector<std::string> names(int k) {
  std::vector<std::string> v;
  for (int c = 0; c < k; ++c) v.push_back("c" + std::to_string(c));
  return v;
}

std::vector<int> group_sizes(const LabelTree& t) {
  std::vector<int> s;
  for (int ch : t.nodes[0].children) s.push_back(static_cast<int>(t.classes_under(ch).size()));
  std::sort(s.begin(), s.end());
  return s;
}

TEST(Baselines, RandomTreeKeepsGroupSizesAndShuffles) {
  // Groups of sizes 3, 2, 4, 1.
  std::vector<int> groups{0, 0, 0, 1, 1, 2, 2, 2, 2, 3};
  LabelTree t = LabelTree::from_groups(groups, names(10));
  bool differs = false;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    LabelTree r = random_tree_like(t, seed);
    r.validate("random tree");
    EXPECT_EQ(group_sizes(r), group_sizes(t));
    EXPECT_EQ(r.class_names, t.class_names);
    if (r.top_level_groups() != t.top_level_groups()) differs = true;
    // Deterministic per seed.
    EXPECT_EQ(random_tree_like(t, seed).to_json(), r.to_json());
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(random_tree_like(t, 1).to_json(), random_tree_like(t, 2).to_json());
}

TEST(Baselines, RandomTreeKeepsDeepShape) {
  // ((c0, c1), (c2, (c3, c4))): a binary tree of depth 3.
  LabelTree t = LabelTree::from_merges({{3, 4}, {0, 1}, {2, 5}, {6, 7}}, names(5));
  LabelTree r = random_tree_like(t, 3);
  r.validate("random deep tree");
  ASSERT_EQ(r.nodes.size(), t.nodes.size());
  for (std::size_t v = 0; v < t.nodes.size(); ++v) {
    EXPECT_EQ(r.nodes[v].parent, t.nodes[v].parent);
    EXPECT_EQ(r.nodes[v].children, t.nodes[v].children);
    EXPECT_EQ(r.is_leaf(static_cast<int>(v)), t.is_leaf(static_cast<int>(v)));
  }
  EXPECT_EQ(r.depth(), t.depth());
}

TEST(Baselines, MatchedFlatForest) {
  // Groups {0,1,2}, {3,4}, {5}: models at the root and at the two groups with >= 2 classes = 3.
  LabelTree t = LabelTree::from_groups({0, 0, 0, 1, 1, 2}, names(6));
  ForestConfig per;
  per.n_trees = 40;
  per.max_depth = 6;
  per.honest = true;
  per.min_samples_leaf = 3;
  ForestConfig f = matched_flat_forest(per, t);
  EXPECT_EQ(f.n_trees, 120);
  EXPECT_EQ(f.max_depth, 12);
  EXPECT_TRUE(f.honest);
  EXPECT_EQ(f.min_samples_leaf, 3);
  per.max_depth = 0;  // unlimited stays unlimited
  EXPECT_EQ(matched_flat_forest(per, t).max_depth, 0);
  // A flat tree is its own resource match.
  per.max_depth = 5;
  ForestConfig flat = matched_flat_forest(per, LabelTree::flat(names(6)));
  EXPECT_EQ(flat.n_trees, 40);
  EXPECT_EQ(flat.max_depth, 5);
  EXPECT_EQ(decision_levels(t), 2);
  EXPECT_EQ(decision_levels(LabelTree::flat(names(4))), 1);
}

TEST(Baselines, MatchedFlatLearner) {
  LabelTree t = LabelTree::from_groups({0, 0, 1, 1}, names(4));
  LearnerConfig lc;
  lc.kind = "forest";
  lc.forest.n_trees = 10;
  lc.forest.max_depth = 3;
  LearnerConfig m = matched_flat_learner(lc, t);
  EXPECT_EQ(m.forest.n_trees, 30);
  EXPECT_EQ(m.forest.max_depth, 6);
  lc.kind = "logistic";
  lc.logistic.l2 = 0.5;
  LearnerConfig ml = matched_flat_learner(lc, t);
  EXPECT_EQ(ml.kind, "logistic");
  EXPECT_EQ(ml.logistic.l2, 0.5);
  EXPECT_EQ(ml.forest.n_trees, 10);
}

}  // namespace
}  // namespace strata::hier
