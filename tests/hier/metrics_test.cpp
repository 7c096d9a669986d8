// Tests for src/strata/hier/metrics.cpp: hand-computed values, scikit-learn's special cases and invariances.
#include "strata/hier/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "strata/core/error.h"

namespace strata::hier {
namespace {

TEST(Metrics, AccuracyAndConfusion) {
  std::vector<int> t{0, 1, 2, 2, 1}, p{0, 2, 2, 2, 1};
  EXPECT_DOUBLE_EQ(accuracy(t, p), 0.8);
  Eigen::MatrixXi m = confusion_matrix(t, p, 3);
  EXPECT_EQ(m(0, 0), 1);
  EXPECT_EQ(m(1, 2), 1);  // rows are the true class
  EXPECT_EQ(m(2, 1), 0);
  EXPECT_EQ(m(1, 1), 1);
  EXPECT_EQ(m(2, 2), 2);
  EXPECT_EQ(m.sum(), 5);
  try {
    confusion_matrix({0, 3}, {0, 1}, 3);
    FAIL() << "label 3 outside [0, 3) accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
  }
  EXPECT_THROW(accuracy({0, 1}, {0}), Error);
}

TEST(Metrics, BalancedAccuracyIgnoresClassesAbsentFromTruth) {
  // Class 2 is predicted but never true: it must not count. recall(0) = 2/3, recall(1) = 1/2.
  std::vector<int> t{0, 0, 0, 1, 1}, p{0, 0, 1, 1, 2};
  EXPECT_NEAR(balanced_accuracy(t, p), (2.0 / 3 + 0.5) / 2, 1e-12);
  // Imbalance: plain accuracy 0.9, but the minority class is always missed.
  std::vector<int> t2(10, 0), p2(10, 0);
  t2[9] = 1;
  EXPECT_NEAR(balanced_accuracy(t2, p2), 0.5, 1e-12);
}

TEST(Metrics, LearningEfficiency) {
  EXPECT_DOUBLE_EQ(learning_efficiency(0.3, 0.15), 2.0);
  EXPECT_EQ(learning_efficiency(0.3, 0.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(learning_efficiency(0.0, 0.0)));
}

TEST(Metrics, AdjustedRandIndexByHand) {
  // a = {0,0,0,1,1,1}, b = {0,0,1,1,2,2}. Contingency rows a, columns b: [[2,1,0],[0,1,2]].
  // Σ C(n_ij, 2) = 1 + 1 = 2; Σ C(a_i, 2) = 3 + 3 = 6; Σ C(b_j, 2) = 1 + 1 + 1 = 3; C(6, 2) = 15.
  // expected = 6 * 3 / 15 = 1.2; max = (6 + 3) / 2 = 4.5; ARI = (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3.
  std::vector<int> a{0, 0, 0, 1, 1, 1}, b{0, 0, 1, 1, 2, 2};
  EXPECT_NEAR(adjusted_rand_index(a, b), 0.8 / 3.3, 1e-12);
  EXPECT_NEAR(adjusted_rand_index(b, a), 0.8 / 3.3, 1e-12);  // symmetric
  // Relabelling either side by a permutation changes nothing.
  std::vector<int> b_perm{7, 7, 3, 3, 5, 5}, a_perm{1, 1, 1, 0, 0, 0};
  EXPECT_NEAR(adjusted_rand_index(a_perm, b_perm), 0.8 / 3.3, 1e-12);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(b, b_perm), 1.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 0}, {4, 4, 4}), 1.0);
  // Every item alone vs one cluster: index 0, expected 0, max 7.5 -> 0.
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 1, 2, 3, 4, 5}, {0, 0, 0, 0, 0, 0}), 0.0);
  // Worse than chance is negative: a = {0,0,1,1}, b = {0,1,0,1}: index 0, sa = sb = 2, expected 4/6, max 2.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), (0 - 4.0 / 6) / (2 - 4.0 / 6), 1e-12);
}

TEST(Metrics, NormalizedMutualInfoByHand) {
  // Same a, b as above, n = 6. H(a) = ln 2, H(b) = ln 3. MI = Σ p_ij ln(p_ij / (p_i p_j)):
  // cells (0,0) and (1,2): 2/6 ln((2/6) / (1/2 * 1/3)) = (1/3) ln 2 each; cells (0,1), (1,1): (1/6) ln 1 = 0.
  // MI = (2/3) ln 2; NMI = MI / ((ln 2 + ln 3) / 2).
  std::vector<int> a{0, 0, 0, 1, 1, 1}, b{0, 0, 1, 1, 2, 2};
  const double want = (2.0 / 3 * std::log(2.0)) / ((std::log(2.0) + std::log(3.0)) / 2);
  EXPECT_NEAR(normalized_mutual_info(a, b), want, 1e-12);
  EXPECT_NEAR(normalized_mutual_info(b, a), want, 1e-12);
  EXPECT_NEAR(normalized_mutual_info({9, 9, 9, 4, 4, 4}, {2, 2, 0, 0, 1, 1}), want, 1e-12);
  EXPECT_DOUBLE_EQ(normalized_mutual_info(b, {5, 5, 6, 6, 7, 7}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({1, 1, 1}, {0, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 0, 0}, {0, 1, 0, 1}), 0.0);
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0, 1e-12);  // independent
}

TEST(Metrics, HierarchicalPrfTwoLevelTree) {
  // Groups {c0, c1} and {c2, c3}: nodes root 0, g0 1 (leaves 2, 3), g1 4 (leaves 5, 6).
  LabelTree t = LabelTree::from_groups({0, 0, 1, 1}, {"c0", "c1", "c2", "c3"});
  // Augmented sets: exact hit {g0,c0}∩{g0,c0} = 2; sibling miss {g0,c0}∩{g0,c1} = 1; {g1,c2}∩{g1,c3} = 1;
  // cross-group miss {g0,c1}∩{g1,c2} = 0. Intersections 4 over 8 true and 8 predicted labels.
  HierPrf r = hierarchical_prf({0, 0, 2, 1}, {0, 1, 3, 2}, t);
  EXPECT_NEAR(r.precision, 0.5, 1e-12);
  EXPECT_NEAR(r.recall, 0.5, 1e-12);
  EXPECT_NEAR(r.f1, 0.5, 1e-12);
  HierPrf perfect = hierarchical_prf({0, 1, 2, 3}, {0, 1, 2, 3}, t);
  EXPECT_DOUBLE_EQ(perfect.f1, 1.0);
}

TEST(Metrics, HierarchicalPrfUnevenDepths) {
  // c0 hangs off the root; c1, c2 sit under group g. Augmented: c0 -> {c0}; c1 -> {g, c1}; c2 -> {g, c2}.
  LabelTree t = LabelTree::from_json(
      R"({"classes": ["c0", "c1", "c2"], "tree": {"children": [{"class": "c0"},
          {"name": "g", "children": [{"class": "c1"}, {"class": "c2"}]}]}})");
  // (true c1, pred c2): |T| 2, |P| 2, ∩ 1.  (true c2, pred c0): |T| 2, |P| 1, ∩ 0.
  // P = 1 / 3, R = 1 / 4, F1 = 2 (1/12) / (7/12) = 2/7.
  HierPrf r = hierarchical_prf({1, 2}, {2, 0}, t);
  EXPECT_NEAR(r.precision, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.recall, 0.25, 1e-12);
  EXPECT_NEAR(r.f1, 2.0 / 7, 1e-12);
  EXPECT_THROW(hierarchical_prf({0, 3}, {0, 0}, t), Error);
}

TEST(Metrics, MeanSe) {
  // mean 2.5; sample variance ((1.5² + 0.5²) * 2) / 3 = 5/3; se = sqrt(5/3) / 2.
  MeanSe m = mean_se({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.se, std::sqrt(5.0 / 3) / 2, 1e-12);
  MeanSe one = mean_se({0.7});
  EXPECT_DOUBLE_EQ(one.mean, 0.7);
  EXPECT_DOUBLE_EQ(one.se, 0.0);
  EXPECT_DOUBLE_EQ(mean_se({3, 3, 3}).se, 0.0);
  EXPECT_THROW(mean_se({}), Error);
}

}  // namespace
}  // namespace strata::hier
