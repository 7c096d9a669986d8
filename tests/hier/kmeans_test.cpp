// Tests for k-means and the shared k-means++ seeding (src/strata/hier/kmeans.cpp).
#include "strata/hier/kmeans.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

// Three tight blobs of 30 points in 4-D, far apart; truth[i] = blob of point i.
Eigen::MatrixXd blobs(std::vector<int>& truth) {
  Rng rng(5);
  Eigen::MatrixXd X(90, 4);
  truth.clear();
  for (int i = 0; i < 90; ++i) {
    int c = i % 3;
    for (int j = 0; j < 4; ++j) X(i, j) = (j == c ? 20.0 : 0.0) + rng.normal();
    truth.push_back(c);
  }
  return X;
}

// True when a and b are the same partition up to renaming the clusters.
bool same_partition(const std::vector<int>& a, const std::vector<int>& b) {
  std::map<int, int> ab, ba;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ab.count(a[i]) && ab[a[i]] != b[i]) return false;
    if (ba.count(b[i]) && ba[b[i]] != a[i]) return false;
    ab[a[i]] = b[i], ba[b[i]] = a[i];
  }
  return true;
}

TEST(KMeans, FindsObviousClusters) {
  std::vector<int> truth;
  Eigen::MatrixXd X = blobs(truth);
  KMeansResult r = kmeans(X, 3, 1);
  EXPECT_TRUE(same_partition(r.labels, truth));
  // The centres are the blob means and the inertia is the within-blob scatter.
  double scatter = 0;
  for (int c = 0; c < 3; ++c) {
    Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(4);
    for (int i = c; i < 90; i += 3) m += X.row(i) / 30.0;
    for (int i = c; i < 90; i += 3) scatter += (X.row(i) - m).squaredNorm();
    EXPECT_LT((r.centers.row(r.labels[c]) - m).norm(), 1e-9);
  }
  EXPECT_NEAR(r.inertia, scatter, 1e-8 * scatter);
}

TEST(KMeans, InertiaDecreasesWithK) {
  std::vector<int> truth;
  Eigen::MatrixXd X = blobs(truth);
  // k = 1: the centre is the mean and the inertia the total scatter.
  Eigen::RowVectorXd mean = X.colwise().mean();
  double total = (X.rowwise() - mean).squaredNorm();
  KMeansResult one = kmeans(X, 1, 0);
  EXPECT_NEAR(one.inertia, total, 1e-9 * total);
  double prev = one.inertia;
  for (int k = 2; k <= 6; ++k) {
    double in = kmeans(X, k, 0).inertia;
    EXPECT_LT(in, prev) << "k = " << k;
    prev = in;
  }
  EXPECT_NEAR(kmeans(X, 90, 0).inertia, 0.0, 1e-12);  // one point per cluster
}

TEST(KMeans, PlusPlusSeedsOnePointPerDistantBlob) {
  std::vector<int> truth;
  Eigen::MatrixXd X = blobs(truth);
  for (std::uint64_t s = 0; s < 20; ++s) {
    Rng rng(s);
    std::vector<int> idx = kmeans_plusplus(X, 3, rng);
    std::set<int> blobs_hit;
    for (int i : idx) blobs_hit.insert(truth[i]);
    EXPECT_EQ(blobs_hit.size(), 3u) << "seed " << s;
  }
}

TEST(KMeans, DeterministicAndDuplicateSafe) {
  std::vector<int> truth;
  Eigen::MatrixXd X = blobs(truth);
  KMeansResult a = kmeans(X, 5, 17), b = kmeans(X, 5, 17);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.centers, b.centers);
  Eigen::MatrixXd same = Eigen::MatrixXd::Constant(6, 2, -1.5);
  KMeansResult d = kmeans(same, 3, 0);
  EXPECT_EQ(d.inertia, 0.0);
  EXPECT_TRUE(d.centers.allFinite());
}

TEST(KMeans, RejectsBadInput) {
  Eigen::MatrixXd X = Eigen::MatrixXd::Random(4, 2);
  EXPECT_THROW(kmeans(X, 5, 0), Error);
  EXPECT_THROW(kmeans(X, 0, 0), Error);
  EXPECT_THROW(kmeans(Eigen::MatrixXd(0, 2), 1, 0), Error);
  X(0, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(kmeans(X, 2, 0), Error);
}

}  // namespace
}  // namespace strata::hier
