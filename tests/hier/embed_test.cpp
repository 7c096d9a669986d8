// Tests for the embeddings (src/strata/hier/embed.cpp): CMDS reproduces Euclidean configurations, ASE separates
// blocks, and the profile-likelihood elbow finds clear gaps.
#include "strata/hier/embed.h"

#include <gtest/gtest.h>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

Eigen::MatrixXd distances(const Eigen::MatrixXd& X) {
  Eigen::MatrixXd D(X.rows(), X.rows());
  for (int i = 0; i < X.rows(); ++i)
    for (int j = 0; j < X.rows(); ++j) D(i, j) = (X.row(i) - X.row(j)).norm();
  return D;
}

TEST(Cmds, RecoversEuclideanDistancesOfPlanarPoints) {
  Rng rng(2);
  Eigen::MatrixXd X(12, 2);
  for (int i = 0; i < 12; ++i) X(i, 0) = 3 * rng.normal(), X(i, 1) = rng.normal();
  Eigen::MatrixXd D = distances(X);
  Eigen::MatrixXd Y = cmds(D, 2);
  ASSERT_EQ(Y.rows(), 12);
  ASSERT_EQ(Y.cols(), 2);
  EXPECT_LT((distances(Y) - D).cwiseAbs().maxCoeff(), 1e-9);
  // Centred, and principal axes in order of variance.
  EXPECT_LT(Y.colwise().sum().cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_GT(Y.col(0).squaredNorm(), Y.col(1).squaredNorm());
  // A third dimension carries nothing for planar data.
  Eigen::MatrixXd Y3 = cmds(D, 3);
  EXPECT_LT(Y3.col(2).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_EQ(cmds(D, 2), Y);  // deterministic signs
}

TEST(Cmds, ChoosesTheIntrinsicDimension) {
  Eigen::MatrixXd X(9, 2);  // a 3 x 3 grid: two equal non-zero eigenvalues, the rest zero
  for (int i = 0; i < 9; ++i) X(i, 0) = i % 3, X(i, 1) = i / 3;
  EXPECT_EQ(cmds(distances(X), 0).cols(), 2);
  EXPECT_THROW(cmds(distances(X), 10), Error);
  Eigen::MatrixXd bad = distances(X);
  bad(0, 1) = -1;
  EXPECT_THROW(cmds(bad, 2), Error);
  EXPECT_THROW(cmds(Eigen::MatrixXd::Zero(2, 3), 1), Error);
}

TEST(Ase, SeparatesTwoBlocks) {
  const int n = 20;
  Rng rng(4);
  Eigen::MatrixXd S(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) S(i, j) = ((i < 10) == (j < 10) ? 0.8 : 0.2) + 0.05 * rng.uniform();
  for (int i = 0; i < n; ++i) S(i, i) = 5.0;  // uninformative self-similarity, replaced by the row mean
  Eigen::MatrixXd Y = ase(S, 2);
  double within = 0, between = 1e300;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      double d = (Y.row(i) - Y.row(j)).norm();
      if ((i < 10) == (j < 10))
        within = std::max(within, d);
      else
        between = std::min(between, d);
    }
  EXPECT_LT(within * 5, between);
  EXPECT_EQ(ase(S, 0).cols(), 2);
  EXPECT_EQ(ase(Eigen::MatrixXd::Constant(4, 4, 0.3), 2), Eigen::MatrixXd::Zero(4, 2));
  EXPECT_THROW(ase(S, -1), Error);
}

TEST(ChooseDims, FindsClearElbow) {
  Eigen::VectorXd a(8);
  a << 10, 9.5, 9, 1, 0.8, 0.5, 0.3, 0.1;
  EXPECT_EQ(choose_dims(a), 3);
  Eigen::VectorXd shuffled(8);
  shuffled << 0.5, 9, 0.1, 10, 0.8, 1, 9.5, 0.3;
  EXPECT_EQ(choose_dims(shuffled), 3);  // sorted first
  Eigen::VectorXd b(4);
  b << 5, 5, 0, 0;
  EXPECT_EQ(choose_dims(b), 2);
  Eigen::VectorXd c(6);
  c << 50, 3, 2.5, 2, 1.5, 1;
  EXPECT_EQ(choose_dims(c), 1);
  EXPECT_EQ(choose_dims(Eigen::VectorXd::Constant(1, 4.0)), 1);
  EXPECT_EQ(choose_dims(Eigen::VectorXd::Constant(5, 2.0)), 1);
  EXPECT_THROW(choose_dims(Eigen::VectorXd()), Error);
}

}  // namespace
}  // namespace strata::hier
