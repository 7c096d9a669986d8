// Tests for agglomerative clustering (src/strata/hier/agglomerative.cpp): hand-computed merges on a 1-D example,
// agreement with a brute-force implementation of the linkage definitions, cuts, and LabelTree compatibility.
#include "strata/hier/agglomerative.h"

#include <gtest/gtest.h>

#include <cmath>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

using Merges = std::vector<std::pair<int, int>>;

// Points on a line: x = 0, 1, 3, 7, 8.5 (ids 0..4). Pairwise: d01=1, d02=3, d03=7, d04=8.5, d12=2, d13=6,
// d14=7.5, d23=4, d24=5.5, d34=1.5.
Eigen::MatrixXd line() {
  Eigen::MatrixXd X(5, 1);
  X << 0, 1, 3, 7, 8.5;
  return X;
}

TEST(Agglomerative, AverageLinkageByHand) {
  // 1) {0,1} at 1 -> id 5.  Now d(5,2) = (3+2)/2 = 2.5, d(5,3) = 6.5, d(5,4) = 8, d(2,3) = 4, d(3,4) = 1.5.
  // 2) {3,4} at 1.5 -> id 6. d(5,2) = 2.5, d(2,6) = (4+5.5)/2 = 4.75, d(5,6) = (7+8.5+6+7.5)/4 = 7.25.
  // 3) {2,5} at 2.5 -> id 7. 4) {6,7} at the mean of the 6 cross distances (7+8.5+6+7.5+4+5.5)/6 = 38.5/6.
  Dendrogram d = agglomerative_points(line(), Linkage::kAverage);
  EXPECT_EQ(d.merges, (Merges{{0, 1}, {3, 4}, {2, 5}, {6, 7}}));
  std::vector<double> h = {1.0, 1.5, 2.5, 38.5 / 6};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d.heights[i], h[i], 1e-12);
  EXPECT_EQ(d.sizes, (std::vector<int>{2, 2, 3, 5}));
}

TEST(Agglomerative, WardLinkageByHand) {
  // Ward distance between clusters A, B: sqrt(2|A||B|/(|A|+|B|)) |c_A - c_B| (scipy's scale; singletons: |a - b|).
  // 1) {0,1} at 1 (centroid 0.5).  Candidates: {0,1}-2: sqrt(4/3) 2.5 = 2.887, 3-4: 1.5, 2-3: 4.
  // 2) {3,4} at 1.5 (centroid 7.75). {0,1}-2: 2.887, 2-{3,4}: sqrt(4/3) 4.75 = 5.485, {0,1}-{3,4}: sqrt(2) 7.25.
  // 3) {2,5} at sqrt(4/3) 2.5 (centroid 4/3).  4) {6,7} at sqrt(12/5) (7.75 - 4/3).
  Dendrogram d = agglomerative_points(line(), Linkage::kWard);
  EXPECT_EQ(d.merges, (Merges{{0, 1}, {3, 4}, {2, 5}, {6, 7}}));
  std::vector<double> h = {1.0, 1.5, std::sqrt(4.0 / 3) * 2.5, std::sqrt(12.0 / 5) * (7.75 - 4.0 / 3)};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d.heights[i], h[i], 1e-12);
}

TEST(Agglomerative, SingleAndCompleteByHand) {
  // Single: {0,1} 1, {3,4} 1.5, then {0,1}-2 = min(3, 2) = 2, then the gap 3 -> 7 = 4.
  Dendrogram s = agglomerative_points(line(), Linkage::kSingle);
  EXPECT_EQ(s.merges, (Merges{{0, 1}, {3, 4}, {2, 5}, {6, 7}}));
  EXPECT_EQ(s.heights, (std::vector<double>{1, 1.5, 2, 4}));
  // Complete: {0,1} 1, {3,4} 1.5, then {0,1}-2 = max(3, 2) = 3 < 2-{3,4} = 5.5, then 0 -> 8.5.
  Dendrogram c = agglomerative_points(line(), Linkage::kComplete);
  EXPECT_EQ(c.merges, (Merges{{0, 1}, {3, 4}, {2, 5}, {6, 7}}));
  EXPECT_EQ(c.heights, (std::vector<double>{1, 1.5, 3, 8.5}));
}

TEST(Agglomerative, DissimilarityInputMatchesPoints) {
  Rng rng(3);
  Eigen::MatrixXd X(25, 3);
  for (int i = 0; i < 25; ++i)
    for (int j = 0; j < 3; ++j) X(i, j) = rng.normal();
  Eigen::MatrixXd D(25, 25);
  for (int i = 0; i < 25; ++i)
    for (int j = 0; j < 25; ++j) D(i, j) = (X.row(i) - X.row(j)).norm();
  for (Linkage l : {Linkage::kAverage, Linkage::kWard, Linkage::kSingle, Linkage::kComplete}) {
    Dendrogram a = agglomerative_points(X, l), b = agglomerative_dissimilarity(D, l);
    EXPECT_EQ(a.merges, b.merges) << linkage_name(l);
    for (int i = 0; i < 24; ++i) EXPECT_NEAR(a.heights[i], b.heights[i], 1e-12);
  }
}

// Brute force from the definitions: clusters as point sets, linkage distance recomputed from scratch each step.
std::vector<double> brute_heights(const Eigen::MatrixXd& X, Linkage l) {
  std::vector<std::vector<int>> cl;
  for (int i = 0; i < X.rows(); ++i) cl.push_back({i});
  auto link = [&](const std::vector<int>& a, const std::vector<int>& b) {
    if (l == Linkage::kWard) {
      Eigen::RowVectorXd ca = Eigen::RowVectorXd::Zero(X.cols()), cb = ca;
      for (int i : a) ca += X.row(i) / a.size();
      for (int i : b) cb += X.row(i) / b.size();
      double na = a.size(), nb = b.size();
      return std::sqrt(2 * na * nb / (na + nb)) * (ca - cb).norm();
    }
    double mn = 1e300, mx = 0, sum = 0;
    for (int i : a)
      for (int j : b) {
        double d = (X.row(i) - X.row(j)).norm();
        mn = std::min(mn, d), mx = std::max(mx, d), sum += d;
      }
    return l == Linkage::kSingle ? mn : l == Linkage::kComplete ? mx : sum / (a.size() * b.size());
  };
  std::vector<double> h;
  while (cl.size() > 1) {
    double best = 1e300;
    std::size_t bi = 0, bj = 0;
    for (std::size_t i = 0; i < cl.size(); ++i)
      for (std::size_t j = i + 1; j < cl.size(); ++j)
        if (double d = link(cl[i], cl[j]); d < best) best = d, bi = i, bj = j;
    cl[bi].insert(cl[bi].end(), cl[bj].begin(), cl[bj].end());
    cl.erase(cl.begin() + bj);
    h.push_back(best);
  }
  return h;
}

TEST(Agglomerative, MatchesBruteForceAndGivesValidTrees) {
  Rng rng(8);
  const int n = 24;
  Eigen::MatrixXd X(n, 4);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < 4; ++j) X(i, j) = rng.normal() + (i % 3 == 0 ? 6.0 * (j == 0) : 0.0);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("c" + std::to_string(i));
  for (Linkage l : {Linkage::kAverage, Linkage::kWard, Linkage::kSingle, Linkage::kComplete}) {
    SCOPED_TRACE(linkage_name(l));
    Dendrogram d = agglomerative_points(X, l);
    std::vector<double> want = brute_heights(X, l);
    ASSERT_EQ(d.heights.size(), want.size());
    for (int i = 0; i < n - 1; ++i) EXPECT_NEAR(d.heights[i], want[i], 1e-9) << "merge " << i;
    std::vector<int> used(2 * n - 1, 0);
    for (int i = 0; i < n - 1; ++i) {
      auto [a, b] = d.merges[i];
      EXPECT_LT(a, b);
      EXPECT_LT(b, n + i);
      EXPECT_EQ(used[a]++, 0);
      EXPECT_EQ(used[b]++, 0);
    }
    LabelTree t = LabelTree::from_merges(d.merges, names);
    EXPECT_EQ(t.num_classes(), n);
    EXPECT_EQ(static_cast<int>(t.nodes.size()), 2 * n - 1);
    // The root's two children split the classes exactly as the 2-cluster cut does.
    std::vector<int> top = t.top_level_groups(), cut = cut_dendrogram(d, n, 2);
    for (int i = 0; i < n; ++i) EXPECT_EQ(top[i] == top[0], cut[i] == cut[0]);
  }
}

TEST(Agglomerative, CutGivesObviousClusters) {
  Dendrogram d = agglomerative_points(line(), Linkage::kAverage);
  EXPECT_EQ(cut_dendrogram(d, 5, 1), (std::vector<int>{0, 0, 0, 0, 0}));
  EXPECT_EQ(cut_dendrogram(d, 5, 2), (std::vector<int>{0, 0, 0, 1, 1}));
  EXPECT_EQ(cut_dendrogram(d, 5, 3), (std::vector<int>{0, 0, 1, 2, 2}));
  EXPECT_EQ(cut_dendrogram(d, 5, 5), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_THROW(cut_dendrogram(d, 5, 0), Error);
  EXPECT_THROW(cut_dendrogram(d, 5, 6), Error);
  EXPECT_THROW(cut_dendrogram(d, 6, 2), Error);
  Dendrogram bad = d;
  bad.merges[1] = {0, 3};  // 0 was already merged into cluster 5
  EXPECT_THROW(cut_dendrogram(bad, 5, 1), Error);
}

TEST(Agglomerative, EdgeCasesAndBadInput) {
  EXPECT_TRUE(agglomerative_points(Eigen::MatrixXd::Ones(1, 2), Linkage::kWard).merges.empty());
  // Duplicates merge at height 0 first.
  Eigen::MatrixXd X(4, 1);
  X << 2, 2, 2, 9;
  Dendrogram d = agglomerative_points(X, Linkage::kWard);
  EXPECT_EQ(d.heights[0], 0.0);
  EXPECT_EQ(d.heights[1], 0.0);
  EXPECT_EQ(cut_dendrogram(d, 4, 2), (std::vector<int>{0, 0, 0, 1}));
  Eigen::MatrixXd D(3, 3);
  D << 0, 1, 2, 1, 0, 3, 2, 3.5, 0;
  EXPECT_THROW(agglomerative_dissimilarity(D, Linkage::kAverage), Error);  // asymmetric
  D(2, 1) = 3;
  D(0, 1) = D(1, 0) = -1;
  EXPECT_THROW(agglomerative_dissimilarity(D, Linkage::kAverage), Error);  // negative
  EXPECT_THROW(agglomerative_dissimilarity(Eigen::MatrixXd::Zero(2, 3), Linkage::kAverage), Error);
  EXPECT_THROW(parse_linkage("centroid"), Error);
  for (Linkage l : {Linkage::kAverage, Linkage::kWard, Linkage::kSingle, Linkage::kComplete})
    EXPECT_EQ(parse_linkage(linkage_name(l)), l);
}

}  // namespace
}  // namespace strata::hier
