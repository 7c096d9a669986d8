// k-means++ seeding and Lloyd's algorithm on small dense point sets (classes or simulation samples).
// Distances are computed directly (not via |x|^2 - 2x.c + |c|^2) to stay exact for duplicated or offset points.
#include "strata/hier/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "strata/core/error.h"

namespace strata::hier {

void validate_points(const Eigen::MatrixXd& X, const std::string& where) {
  if (X.rows() < 1 || X.cols() < 1)
    bad_input(where, ": expected at least one point with at least one feature, got a ", X.rows(), " x ", X.cols(),
              " matrix");
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index j = 0; j < X.cols(); ++j)
      if (!std::isfinite(X(i, j)))
        bad_input(where, ": expected finite values, found ", X(i, j), " at point ", i, ", feature ", j);
}

namespace {

double dist2(const Eigen::MatrixXd& X, Eigen::Index i, const Eigen::MatrixXd& C, Eigen::Index j) {
  return (X.row(i) - C.row(j)).squaredNorm();
}

// Nearest centre per point; returns the inertia. dist: (n) squared distance to the chosen centre.
double assign(const Eigen::MatrixXd& X, const Eigen::MatrixXd& C, std::vector<int>& labels, Eigen::VectorXd& dist) {
  const Eigen::Index n = X.rows(), k = C.rows();
  double inertia = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    int arg = 0;
    for (Eigen::Index j = 0; j < k; ++j) {
      double d = dist2(X, i, C, j);
      if (d < best) best = d, arg = static_cast<int>(j);
    }
    labels[i] = arg;
    dist[i] = best;
    inertia += best;
  }
  return inertia;
}

KMeansResult lloyd(const Eigen::MatrixXd& X, int k, Rng& rng, int max_iter, double tol) {
  const Eigen::Index n = X.rows(), d = X.cols();
  std::vector<int> seeds = kmeans_plusplus(X, k, rng);
  Eigen::MatrixXd centers(k, d);  // (k, d)
  for (int j = 0; j < k; ++j) centers.row(j) = X.row(seeds[j]);

  std::vector<int> labels(n, -1), prev(n, -1);
  Eigen::VectorXd dist(n);     // (n)
  Eigen::MatrixXd sums(k, d);  // (k, d)
  std::vector<double> counts(k);
  std::vector<int> order(n);
  int it = 0;
  for (; it < max_iter; ++it) {
    assign(X, centers, labels, dist);
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0.0);
    for (Eigen::Index i = 0; i < n; ++i) sums.row(labels[i]) += X.row(i), counts[labels[i]] += 1.0;
    // Empty clusters take the points farthest from their centres (largest first), as scikit-learn relocates them.
    std::vector<int> empty;
    for (int j = 0; j < k; ++j)
      if (counts[j] == 0.0) empty.push_back(j);
    if (!empty.empty()) {
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dist[a] > dist[b]; });
      for (std::size_t e = 0; e < empty.size() && e < order.size(); ++e) {
        int p = order[e], from = labels[p], to = empty[e];
        sums.row(from) -= X.row(p), counts[from] -= 1.0;
        sums.row(to) = X.row(p), counts[to] = 1.0;
        labels[p] = to;
      }
    }
    Eigen::MatrixXd next = centers;
    for (int j = 0; j < k; ++j)
      if (counts[j] > 0.0) next.row(j) = sums.row(j) / counts[j];
    double shift = (next - centers).squaredNorm();
    centers.swap(next);
    if (labels == prev) {  // strict convergence: the assignment is a fixed point
      ++it;
      break;
    }
    prev = labels;
    if (shift <= tol) {
      ++it;
      break;
    }
  }
  KMeansResult r;
  r.labels.assign(n, 0);
  r.inertia = assign(X, centers, r.labels, dist);  // labels consistent with the final centres
  r.centers = std::move(centers);
  r.n_iter = it;
  return r;
}

}  // namespace

std::vector<int> kmeans_plusplus(const Eigen::MatrixXd& X, int k, Rng& rng) {
  const Eigen::Index n = X.rows();
  STRATA_CHECK(k >= 1 && k <= n);
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<int> chosen;
  chosen.reserve(k);
  chosen.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(n))));
  Eigen::VectorXd closest(n), cand(n), best(n);  // (n) squared distance to the nearest chosen centre
  for (Eigen::Index i = 0; i < n; ++i) closest[i] = (X.row(i) - X.row(chosen[0])).squaredNorm();
  double pot = closest.sum();
  std::vector<double> cum(n);
  for (int c = 1; c < k; ++c) {
    std::partial_sum(closest.data(), closest.data() + n, cum.begin());
    double best_pot = std::numeric_limits<double>::infinity();
    int best_id = -1;
    for (int t = 0; t < trials; ++t) {
      // Sample proportionally to the squared distance (first index whose cumulative sum reaches r).
      double r = rng.uniform() * pot;
      Eigen::Index id = std::lower_bound(cum.begin(), cum.end(), r) - cum.begin();
      id = std::min(id, n - 1);
      double p = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        cand[i] = std::min(closest[i], (X.row(i) - X.row(id)).squaredNorm());
        p += cand[i];
      }
      if (p < best_pot) {
        best_pot = p;
        best_id = static_cast<int>(id);
        best.swap(cand);
      }
    }
    chosen.push_back(best_id);
    closest.swap(best);
    pot = best_pot;
  }
  return chosen;
}

KMeansResult kmeans(const Eigen::MatrixXd& X, int k, std::uint64_t seed, int n_init, int max_iter) {
  validate_points(X, "kmeans");
  if (k < 1 || k > X.rows()) bad_input("kmeans: expected 1 <= k <= n = ", X.rows(), " points, got k = ", k);
  if (n_init < 1) bad_input("kmeans: expected n_init >= 1, got ", n_init);
  if (max_iter < 1) bad_input("kmeans: expected max_iter >= 1, got ", max_iter);
  // scikit-learn's tolerance: relative to the mean per-feature variance of the data.
  Eigen::RowVectorXd mean = X.colwise().mean();
  double tol = 1e-4 * (X.rowwise() - mean).colwise().squaredNorm().mean() / static_cast<double>(X.rows());
  Rng rng(seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < n_init; ++r) {
    KMeansResult run = lloyd(X, k, rng, max_iter, tol);
    if (run.inertia < best.inertia) best = std::move(run);
  }
  return best;
}

}  // namespace strata::hier
