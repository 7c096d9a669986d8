// Tests for src/strata/hier/conditional.cpp: class means (raw and PCA), kernel MMD, partition task similarity.
#include "strata/hier/conditional.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

data::Dataset make(std::size_t d, int k) {
  data::Dataset ds;
  ds.d = d;
  for (int c = 0; c < k; ++c) ds.classes.push_back("c" + std::to_string(c));
  ds.source = "synthetic";
  return ds;
}

void add_row(data::Dataset& ds, const std::vector<float>& x, int y) {
  ds.x.insert(ds.x.end(), x.begin(), x.end());
  ds.y.push_back(y);
  ds.n++;
}

// Gaussian blobs: class c centred at centres[c] with standard deviation sd, `per` rows each, interleaved.
data::Dataset blobs(const std::vector<std::vector<float>>& centres, std::size_t per, double sd, std::uint64_t seed) {
  data::Dataset ds = make(centres[0].size(), static_cast<int>(centres.size()));
  Rng rng(seed);
  for (std::size_t i = 0; i < per; ++i)
    for (int c = 0; c < static_cast<int>(centres.size()); ++c) {
      std::vector<float> x(ds.d);
      for (std::size_t f = 0; f < ds.d; ++f) x[f] = centres[c][f] + static_cast<float>(sd * rng.normal());
      add_row(ds, x, c);
    }
  return ds;
}

double max_abs_diff(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).cwiseAbs().maxCoeff(); }

TEST(ClassMeans, EqualHandMeans) {
  data::Dataset ds = make(2, 3);
  add_row(ds, {1, 2}, 0);
  add_row(ds, {3, 4}, 0);
  add_row(ds, {10, 0}, 2);
  add_row(ds, {-1, -1}, 1);
  add_row(ds, {0, 6}, 2);
  add_row(ds, {-3, 5}, 1);
  Eigen::MatrixXd m = class_means(ds);
  ASSERT_EQ(m.rows(), 3);
  ASSERT_EQ(m.cols(), 2);
  EXPECT_DOUBLE_EQ(m(0, 0), 2);
  EXPECT_DOUBLE_EQ(m(0, 1), 3);
  EXPECT_DOUBLE_EQ(m(1, 0), -2);
  EXPECT_DOUBLE_EQ(m(1, 1), 2);
  EXPECT_DOUBLE_EQ(m(2, 0), 5);
  EXPECT_DOUBLE_EQ(m(2, 1), 3);
}

TEST(ClassMeans, MissingClassIsBadInput) {
  data::Dataset ds = make(2, 3);
  add_row(ds, {1, 2}, 0);
  add_row(ds, {1, 3}, 1);
  try {
    class_means(ds);
    FAIL() << "a class without examples was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("c2"), std::string::npos);
  }
}

// Data lying in a dims-dimensional subspace of R^d (random orthonormal basis plus an offset).
data::Dataset subspace_data(std::size_t d, int dims, int k, std::size_t per, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd g(d, dims);
  for (int j = 0; j < dims; ++j)
    for (std::size_t i = 0; i < d; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd basis = qr.householderQ() * Eigen::MatrixXd::Identity(d, dims);  // (d, dims)
  Eigen::VectorXd offset(d);
  for (std::size_t i = 0; i < d; ++i) offset[i] = 2 * rng.normal();
  data::Dataset ds = make(d, k);
  std::vector<Eigen::VectorXd> centres;
  for (int c = 0; c < k; ++c) {
    Eigen::VectorXd z(dims);
    for (int j = 0; j < dims; ++j) z[j] = 4 * rng.normal();
    centres.push_back(z);
  }
  for (std::size_t i = 0; i < per; ++i)
    for (int c = 0; c < k; ++c) {
      Eigen::VectorXd z = centres[c];
      for (int j = 0; j < dims; ++j) z[j] += rng.normal();
      Eigen::VectorXd x = offset + basis * z;
      std::vector<float> xf(d);
      for (std::size_t f = 0; f < d; ++f) xf[f] = static_cast<float>(x[f]);
      add_row(ds, xf, c);
    }
  return ds;
}

Eigen::MatrixXd pairwise(const Eigen::MatrixXd& m) {
  Eigen::MatrixXd out(m.rows(), m.rows());
  for (int i = 0; i < m.rows(); ++i)
    for (int j = 0; j < m.rows(); ++j) out(i, j) = (m.row(i) - m.row(j)).norm();
  return out;
}

TEST(ClassMeans, PcaPreservesBetweenClassDistancesOnASubspace) {
  data::Dataset ds = subspace_data(12, 3, 5, 60, 1);
  Eigen::MatrixXd raw = class_means(ds);
  Eigen::MatrixXd pca = class_means(ds, 3);
  ASSERT_EQ(pca.rows(), 5);
  ASSERT_EQ(pca.cols(), 3);
  EXPECT_LT(max_abs_diff(pairwise(raw), pairwise(pca)), 1e-3 * pairwise(raw).maxCoeff());
  // Fewer dimensions than the subspace lose distance; more than d are clamped to d.
  EXPECT_EQ(class_means(ds, 2).cols(), 2);
  EXPECT_EQ(class_means(ds, 50).cols(), 12);
  // The projection is centred: the count-weighted mean of PCA class means is 0 (equal counts here).
  EXPECT_LT(pca.colwise().mean().cwiseAbs().maxCoeff(), 1e-3);
}

TEST(ClassMeans, RandomizedPcaForWideData) {
  // d > 2048 takes the randomized path; the subspace is still found.
  data::Dataset ds = subspace_data(2100, 3, 4, 40, 2);
  Eigen::MatrixXd raw = class_means(ds);
  Eigen::MatrixXd pca = class_means(ds, 3, 7);
  ASSERT_EQ(pca.cols(), 3);
  EXPECT_LT(max_abs_diff(pairwise(raw), pairwise(pca)), 1e-3 * pairwise(raw).maxCoeff());
}

TEST(Mmd, SameDistributionSmallShiftedLarge) {
  // Classes 0, 1, 3 share N(0, I); class 2 is shifted by 3 along the first axis.
  data::Dataset ds = blobs({{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {3, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}, 150, 1.0, 3);
  Eigen::MatrixXd m = mmd_matrix(ds, 120, 5, 1);
  ASSERT_EQ(m.rows(), 4);
  EXPECT_LT(max_abs_diff(m, m.transpose()), 1e-15);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(m(i, i), 0.0);
  EXPECT_GT(m(0, 2), 0.4);
  EXPECT_LT(m(0, 1), 0.25 * m(0, 2));
  EXPECT_LT(m(1, 3), 0.25 * m(1, 2));
  EXPECT_LT(m(0, 3), 0.25 * m(3, 2));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_GE(m(i, j), 0.0);
  // Bit-identical whatever the thread count.
  Eigen::MatrixXd m3 = mmd_matrix(ds, 120, 5, 3);
  EXPECT_EQ(max_abs_diff(m, m3), 0.0);
  // Another subsample seed still separates.
  Eigen::MatrixXd other = mmd_matrix(ds, 120, 6, 2);
  EXPECT_GT(other(0, 2), 4 * other(0, 1));
}

TEST(Mmd, NeedsTwoExamplesPerClass) {
  data::Dataset ds = make(2, 2);
  add_row(ds, {0, 0}, 0);
  add_row(ds, {1, 0}, 0);
  add_row(ds, {3, 3}, 1);
  EXPECT_THROW(mmd_matrix(ds), Error);
}

// Classes 0 and 1 are both told apart from the rest by feature 0 (high); classes 2 and 3 by feature 1; class 4
// is the plain background. Features 2..5 are noise.
data::Dataset shared_structure(std::uint64_t seed) {
  return blobs(
      {{6, 0, 0, 0, 0, 0}, {6, 0, 0.3f, 0, 0, 0}, {0, 6, 0, 0, 0, 0}, {0, 6, 0, 0.3f, 0, 0}, {0, 0, 0, 0, 0, 0}}, 80,
      1.0, seed);
}

TEST(TaskSimilarity, SharedStructureScoresHigher) {
  data::Dataset ds = shared_structure(4);
  Eigen::MatrixXd s = task_similarity(ds, 4, 11, 3, 500, 1);
  ASSERT_EQ(s.rows(), 5);
  EXPECT_LT(max_abs_diff(s, s.transpose()), 1e-15);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s(i, i), 1.0);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      EXPECT_GE(s(i, j), 0.0);
      EXPECT_LE(s(i, j), 1.0);
    }
  // Sharing a discriminating feature makes the partitions transfer.
  EXPECT_GT(s(0, 1), s(0, 2) + 0.15);
  EXPECT_GT(s(0, 1), s(1, 3) + 0.15);
  EXPECT_GT(s(2, 3), s(0, 3) + 0.15);
  EXPECT_GT(s(2, 3), s(1, 2) + 0.15);
  // Deterministic whatever the thread count, and per seed.
  EXPECT_EQ(max_abs_diff(s, task_similarity(ds, 4, 11, 3, 500, 3)), 0.0);
  EXPECT_EQ(max_abs_diff(s, task_similarity(ds, 4, 11, 3, 500, 2)), 0.0);
}

TEST(TaskSimilarity, SubsamplingAndBadArguments) {
  data::Dataset ds = shared_structure(5);
  Eigen::MatrixXd s = task_similarity(ds, 3, 1, 2, 40, 2);
  EXPECT_GT(s(0, 1), s(0, 2));
  data::Dataset two = blobs({{0, 0}, {1, 1}}, 10, 1.0, 1);
  EXPECT_THROW(task_similarity(two), Error);
  EXPECT_THROW(task_similarity(ds, 0), Error);
}

}  // namespace
}  // namespace strata::hier
