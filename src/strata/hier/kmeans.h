// k-means clustering: greedy k-means++ seeding followed by Lloyd iterations, as scikit-learn's KMeans computes it.
// The seeding (kmeans_plusplus) is also what initialises the Gaussian mixtures of gmm.h.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "strata/core/rng.h"

namespace strata::hier {

struct KMeansResult {
  std::vector<int> labels;  // (n) cluster of each point, in [0, k)
  Eigen::MatrixXd centers;  // (k, d)
  double inertia = 0.0;     // sum over points of the squared distance to their centre
  int n_iter = 0;           // Lloyd iterations of the kept run
};

// Throws bad_input naming `where` unless X has at least one row and one column and every entry is finite.
void validate_points(const Eigen::MatrixXd& X, const std::string& where);

// Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + floor(ln k) candidate centres per step, keeping the one
// that lowers the potential most, as scikit-learn). Returns the k row indices chosen as initial centres.
// Needs 1 <= k <= X.rows(); the caller validates.
std::vector<int> kmeans_plusplus(const Eigen::MatrixXd& X, int k, Rng& rng);

// k-means++ + Lloyd, n_init restarts (the lowest inertia wins), at most max_iter iterations each; a run stops when
// the labels no longer change or the centres move (sum of squared shifts) by at most 1e-4 x the mean feature
// variance. Empty clusters are reseeded with the points farthest from their centres. X: (n, d), one point a row.
// Throws bad_input when k is outside [1, n] or X is empty or not finite.
KMeansResult kmeans(const Eigen::MatrixXd& X, int k, std::uint64_t seed, int n_init = 10, int max_iter = 300);

}  // namespace strata::hier
