// Tests for the Gaussian mixture (src/strata/hier/gmm.cpp): recovery of separated mixtures for every covariance
// type, densities against a direct formula, parameter counts, BIC selection, determinism, degenerate inputs.
#include "strata/hier/gmm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

const std::vector<Covariance> kAllCovs = {Covariance::kSpherical, Covariance::kDiag, Covariance::kTied,
                                          Covariance::kFull};

// 4 clusters of `per` points in 2-D around the corners of a 10 x 10 square, per-axis std 0.5 and 0.8.
Eigen::MatrixXd corners(int per, std::uint64_t seed, std::vector<int>* truth = nullptr) {
  const double cx[4] = {0, 10, 0, 10}, cy[4] = {0, 0, 10, 10};
  Rng rng(seed);
  Eigen::MatrixXd X(4 * per, 2);
  if (truth) truth->clear();
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < per; ++i) {
      X(c * per + i, 0) = cx[c] + 0.5 * rng.normal();
      X(c * per + i, 1) = cy[c] + 0.8 * rng.normal();
      if (truth) truth->push_back(c);
    }
  return X;
}

// Adjusted Rand index between two labelings (1 = identical partitions up to renaming).
double ari(const std::vector<int>& a, const std::vector<int>& b) {
  std::map<std::pair<int, int>, double> nij;
  std::map<int, double> ai, bj;
  for (std::size_t i = 0; i < a.size(); ++i) nij[{a[i], b[i]}] += 1, ai[a[i]] += 1, bj[b[i]] += 1;
  auto c2 = [](double x) { return x * (x - 1) / 2; };
  double s = 0, sa = 0, sb = 0;
  for (auto& [k, v] : nij) s += c2(v);
  for (auto& [k, v] : ai) sa += c2(v);
  for (auto& [k, v] : bj) sb += c2(v);
  double expected = sa * sb / c2(static_cast<double>(a.size()));
  return (s - expected) / (0.5 * (sa + sb) - expected);
}

TEST(Gmm, RecoversSeparatedMixtureForEveryCovarianceType) {
  std::vector<int> truth;
  Eigen::MatrixXd X = corners(60, 7, &truth);
  for (Covariance cov : kAllCovs) {
    GmmConfig cfg;
    cfg.k = 4;
    cfg.cov = cov;
    cfg.seed = 3;
    Gmm g = fit_gmm(X, cfg);
    SCOPED_TRACE(covariance_name(cov));
    EXPECT_TRUE(g.converged);
    EXPECT_NEAR(g.weights.sum(), 1.0, 1e-12);
    EXPECT_GT(ari(g.predict(X), truth), 0.99);
    // Every true centre has a fitted mean close to it.
    const double cx[4] = {0, 10, 0, 10}, cy[4] = {0, 0, 10, 10};
    for (int c = 0; c < 4; ++c) {
      double best = 1e9;
      for (int j = 0; j < 4; ++j) best = std::min(best, std::hypot(g.means(j, 0) - cx[c], g.means(j, 1) - cy[c]));
      EXPECT_LT(best, 0.3);
    }
    // The per-axis spread is recovered by the types that can express it.
    if (cov == Covariance::kDiag || cov == Covariance::kFull || cov == Covariance::kTied)
      for (int j = 0; j < 4; ++j) {
        Eigen::MatrixXd C = g.covariance(j);
        EXPECT_NEAR(C(0, 0), 0.25, 0.12);
        EXPECT_NEAR(C(1, 1), 0.64, 0.25);
      }
    // At convergence the last E-step bound and the final score agree to about tol.
    EXPECT_NEAR(g.lower_bound, g.score(X), 1e-2);
    Eigen::MatrixXd P = g.predict_proba(X);
    EXPECT_LT((P.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-12);
  }
}

// Densities from the fitted parameters recomputed with an explicit inverse and determinant.
TEST(Gmm, ScoreSamplesMatchesDirectDensity) {
  Rng rng(11);
  Eigen::MatrixXd X(90, 3);
  for (int i = 0; i < 90; ++i)
    for (int j = 0; j < 3; ++j) X(i, j) = rng.normal() + (i % 3) * 4.0 + (j == 1 ? 0.5 * X(i, 0) : 0.0);
  for (Covariance cov : kAllCovs) {
    SCOPED_TRACE(covariance_name(cov));
    GmmConfig cfg;
    cfg.k = 3;
    cfg.cov = cov;
    Gmm g = fit_gmm(X, cfg);
    Eigen::VectorXd s = g.score_samples(X);
    for (int i = 0; i < 90; i += 7) {
      double p = 0;
      for (int j = 0; j < 3; ++j) {
        Eigen::MatrixXd C = g.covariance(j);
        Eigen::VectorXd diff = (X.row(i) - g.means.row(j)).transpose();
        double maha = diff.dot(C.inverse() * diff);
        p += g.weights[j] * std::exp(-0.5 * maha) / std::sqrt(std::pow(2 * std::numbers::pi, 3) * C.determinant());
      }
      EXPECT_NEAR(s[i], std::log(p), 1e-9);
    }
    EXPECT_NEAR(g.score(X), s.mean(), 1e-12);
    EXPECT_NEAR(g.bic(X), -2.0 * 90 * g.score(X) + g.n_parameters() * std::log(90.0), 1e-9);
  }
}

TEST(Gmm, ParameterCountsFollowScikitLearn) {
  Eigen::MatrixXd X = corners(10, 1);
  Eigen::MatrixXd X3(X.rows(), 3);
  X3 << X, X.col(0) - X.col(1);
  X3.col(2) += Eigen::VectorXd::LinSpaced(X.rows(), 0, 1);
  const int k = 4, d = 3;
  // covariance params + means k d + weights k - 1
  std::map<Covariance, int> want = {{Covariance::kFull, k * d * (d + 1) / 2 + k * d + k - 1},
                                    {Covariance::kTied, d * (d + 1) / 2 + k * d + k - 1},
                                    {Covariance::kDiag, k * d + k * d + k - 1},
                                    {Covariance::kSpherical, k + k * d + k - 1}};
  EXPECT_EQ(want[Covariance::kFull], 39);
  EXPECT_EQ(want[Covariance::kSpherical], 19);
  for (Covariance cov : kAllCovs) {
    GmmConfig cfg;
    cfg.k = k;
    cfg.cov = cov;
    Gmm g = fit_gmm(X3, cfg);
    EXPECT_EQ(g.n_parameters(), want[cov]) << covariance_name(cov);
    EXPECT_TRUE(std::isfinite(g.bic(X3)));
    EXPECT_TRUE(std::isfinite(g.aic(X3)));
  }
}

TEST(Gmm, BicSelectsTrueNumberOfComponents) {
  Eigen::MatrixXd X = corners(40, 21);
  GmmSelection sel = select_gmm(X, 1, 7, kAllCovs, 1, 5, 2);
  EXPECT_EQ(sel.k, 4);
  EXPECT_EQ(sel.best.k(), 4);
  EXPECT_EQ(sel.table.size(), 7u * 4u);
  double min_bic = 1e300;
  for (auto& row : sel.table) min_bic = std::min(min_bic, row.bic);
  EXPECT_NEAR(sel.best.bic(X), min_bic, 1e-9);
  EXPECT_EQ(sel.best.cov, sel.cov);
}

TEST(Gmm, DeterministicPerSeedAndAcrossThreadCounts) {
  Eigen::MatrixXd X = corners(15, 4);
  GmmConfig cfg;
  cfg.k = 5;
  cfg.n_init = 3;
  cfg.seed = 9;
  Gmm a = fit_gmm(X, cfg), b = fit_gmm(X, cfg);
  EXPECT_EQ(a.means, b.means);
  EXPECT_EQ(a.lower_bound, b.lower_bound);

  GmmSelection s1 = select_gmm(X, 2, 12, kAllCovs, 1, 42, 1);
  GmmSelection s3 = select_gmm(X, 2, 12, kAllCovs, 1, 42, 3);
  ASSERT_EQ(s1.table.size(), s3.table.size());
  for (std::size_t i = 0; i < s1.table.size(); ++i) EXPECT_EQ(s1.table[i].bic, s3.table[i].bic) << i;
  EXPECT_EQ(s1.k, s3.k);
  EXPECT_EQ(s1.best.means, s3.best.means);
}

TEST(Gmm, RegCovarKeepsDuplicatePointsFinite) {
  Eigen::MatrixXd X(12, 3);
  for (int i = 0; i < 12; ++i) X.row(i) << (i < 8 ? 1.0 : 5.0), 2.0, (i < 8 ? -1.0 : 0.0);  // two distinct points
  for (Covariance cov : kAllCovs) {
    GmmConfig cfg;
    cfg.k = 3;  // more components than distinct points
    cfg.cov = cov;
    Gmm g = fit_gmm(X, cfg);
    EXPECT_TRUE(g.means.allFinite()) << covariance_name(cov);
    EXPECT_TRUE(std::isfinite(g.bic(X))) << covariance_name(cov);
  }
  // Without regularisation a collapsed component (here: all points at the origin, so the scatter is exactly 0) has a
  // singular covariance: a clear error, not a crash.
  const Eigen::MatrixXd zeros = Eigen::MatrixXd::Zero(6, 3);
  for (Covariance cov : kAllCovs) {
    GmmConfig cfg;
    cfg.k = 1;
    cfg.cov = cov;
    cfg.reg_covar = 0.0;
    try {
      fit_gmm(zeros, cfg);
      FAIL() << "expected bad_input for " << covariance_name(cov);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find("reg_covar"), std::string::npos) << e.what();
    }
  }
  Eigen::MatrixXd same = Eigen::MatrixXd::Constant(5, 2, 3.0);
  GmmSelection sel = select_gmm(same, 1, 4, kAllCovs, 1, 0);
  EXPECT_TRUE(std::isfinite(sel.best.score(same)));
}

TEST(Gmm, RejectsBadInput) {
  Eigen::MatrixXd X = corners(1, 0);  // 4 points
  GmmConfig cfg;
  cfg.k = 5;
  try {
    fit_gmm(X, cfg);
    FAIL() << "expected bad_input";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("k = 5"), std::string::npos) << e.what();
  }
  cfg.k = 2;
  Eigen::MatrixXd Y = X;
  Y(1, 1) = std::nan("");
  EXPECT_THROW(fit_gmm(Y, cfg), Error);
  Gmm g = fit_gmm(X, cfg);
  EXPECT_THROW(g.score(Eigen::MatrixXd::Zero(2, 3)), Error);  // wrong dimension
  EXPECT_THROW(parse_covariance("diagonal"), Error);
  for (Covariance c : kAllCovs) EXPECT_EQ(parse_covariance(covariance_name(c)), c);
  EXPECT_THROW(select_gmm(X, 5, 8, kAllCovs, 1, 0), Error);  // k_min > n
  GmmSelection clipped = select_gmm(X, 1, 10, {Covariance::kSpherical}, 1, 0);
  EXPECT_EQ(clipped.table.back().k, 4);  // k_max clipped to n
}

}  // namespace
}  // namespace strata::hier
