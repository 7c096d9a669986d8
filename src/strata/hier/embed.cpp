// Spectral embeddings of small dense matrices (items = classes, so n is tens to a few thousand): one symmetric
// eigendecomposition each (Eigen::SelfAdjointEigenSolver), signs fixed for reproducibility.
#include "strata/hier/embed.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "strata/core/error.h"

namespace strata::hier {

namespace {

void check_square(const Eigen::MatrixXd& M, const char* where, bool non_negative) {
  if (M.rows() != M.cols()) bad_input(where, ": expected a square matrix, got ", M.rows(), " x ", M.cols());
  if (M.rows() < 1) bad_input(where, ": expected at least one item, got an empty matrix");
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) {
      double v = M(i, j);
      if (!std::isfinite(v)) bad_input(where, ": expected finite entries, found ", v, " at (", i, ", ", j, ")");
      if (non_negative && i != j && v < 0.0)
        bad_input(where, ": expected non-negative dissimilarities, found ", v, " at (", i, ", ", j, ")");
    }
}

void check_dims(int dims, Eigen::Index n, const char* where) {
  if (dims < 0 || dims > n) bad_input(where, ": expected 0 <= dims <= n = ", n, " (0: choose), got ", dims);
}

// Columns order[0..dims) of the eigenvectors V, scaled by sqrt(scale[c]), each flipped so that its largest-magnitude
// entry is positive (the eigensolver's sign is arbitrary).
Eigen::MatrixXd scaled_columns(const Eigen::MatrixXd& V, const std::vector<Eigen::Index>& order,
                               const std::vector<double>& scale, int dims) {
  Eigen::MatrixXd X(V.rows(), dims);  // (n, dims)
  for (int c = 0; c < dims; ++c) {
    Eigen::VectorXd v = V.col(order[c]);
    Eigen::Index arg;
    v.cwiseAbs().maxCoeff(&arg);
    if (v[arg] < 0) v = -v;
    X.col(c) = v * std::sqrt(scale[c]);
  }
  return X;
}

}  // namespace

int choose_dims(const Eigen::VectorXd& eigenvalues_desc) {
  const Eigen::Index p = eigenvalues_desc.size();
  if (p < 1) bad_input("choose_dims: expected at least one eigenvalue");
  if (!eigenvalues_desc.allFinite()) bad_input("choose_dims: expected finite eigenvalues");
  std::vector<double> a(eigenvalues_desc.data(), eigenvalues_desc.data() + p);
  std::sort(a.begin(), a.end(), std::greater<>());
  if (p <= 2 || a.front() == a.back()) return 1;
  const double scale = std::max(std::abs(a.front()), std::abs(a.back()));
  // Prefix sums give each split's means and scatter in O(1).
  std::vector<double> s(p + 1, 0.0), s2(p + 1, 0.0);
  for (Eigen::Index i = 0; i < p; ++i) s[i + 1] = s[i] + a[i], s2[i + 1] = s2[i] + a[i] * a[i];
  auto scatter = [&](Eigen::Index lo, Eigen::Index hi) {  // sum of squared deviations of a[lo..hi)
    if (hi <= lo) return 0.0;
    double m = (s[hi] - s[lo]) / static_cast<double>(hi - lo), ss = 0.0;
    for (Eigen::Index i = lo; i < hi; ++i) ss += (a[i] - m) * (a[i] - m);  // direct: no cancellation
    return ss;
  };
  int best_q = 1;
  double best = -std::numeric_limits<double>::infinity();
  for (Eigen::Index q = 1; q <= p; ++q) {
    double ss = scatter(0, q) + scatter(q, p);
    double denom = static_cast<double>(q < p ? p - 2 : p - 1);
    double var = ss / denom;
    if (var <= 1e-24 * scale * scale) return static_cast<int>(q);  // a perfect two-level split
    // Profile log-likelihood of both normal groups with MLE means and the pooled variance, up to constants.
    double ll = -0.5 * static_cast<double>(p) * std::log(var) - 0.5 * ss / var;
    if (ll > best) best = ll, best_q = static_cast<int>(q);
  }
  return best_q;
}

Eigen::MatrixXd cmds(const Eigen::MatrixXd& D, int dims) {
  check_square(D, "cmds", true);
  const Eigen::Index n = D.rows();
  check_dims(dims, n, "cmds");
  Eigen::MatrixXd A = 0.5 * (D + D.transpose());  // (n, n)
  A.diagonal().setZero();
  A = A.array().square();
  // Double centring of the squared dissimilarities.
  Eigen::VectorXd r = A.rowwise().mean();  // (n) row means = column means (symmetric)
  const double g = r.mean();
  Eigen::MatrixXd B = -0.5 * ((A.colwise() - r).rowwise() - r.transpose()).array() - 0.5 * g;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(B);
  if (es.info() != Eigen::Success) internal_error("cmds: eigendecomposition failed");
  std::vector<Eigen::Index> order(n);
  std::vector<double> lam(n);
  for (Eigen::Index c = 0; c < n; ++c) {
    order[c] = n - 1 - c;  // eigenvalues come ascending
    lam[c] = std::max(es.eigenvalues()[n - 1 - c], 0.0);
  }
  if (dims == 0) dims = choose_dims(Eigen::Map<Eigen::VectorXd>(lam.data(), n));
  return scaled_columns(es.eigenvectors(), order, lam, dims);
}

Eigen::MatrixXd ase(const Eigen::MatrixXd& S, int dims) {
  check_square(S, "ase", false);
  const Eigen::Index n = S.rows();
  check_dims(dims, n, "ase");
  Eigen::MatrixXd A = 0.5 * (S + S.transpose());  // (n, n)
  // The diagonal of a similarity matrix is uninformative (self-similarity); replace it by the row's typical value.
  for (Eigen::Index i = 0; i < n; ++i) A(i, i) = n > 1 ? (A.row(i).sum() - A(i, i)) / static_cast<double>(n - 1) : 0.0;
  const double lo = A.minCoeff(), hi = A.maxCoeff();
  if (hi > lo)
    A = (A.array() - lo) / (hi - lo);
  else
    A.setZero();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(A);
  if (es.info() != Eigen::Success) internal_error("ase: eigendecomposition failed");
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  const Eigen::VectorXd& ev = es.eigenvalues();
  // Largest magnitude first; ties keep the larger (positive) eigenvalue first.
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
    double ma = std::abs(ev[a]), mb = std::abs(ev[b]);
    return ma != mb ? ma > mb : ev[a] > ev[b];
  });
  std::vector<double> mag(n);
  for (Eigen::Index c = 0; c < n; ++c) mag[c] = std::abs(ev[order[c]]);
  if (dims == 0) dims = choose_dims(Eigen::Map<Eigen::VectorXd>(mag.data(), n));
  return scaled_columns(es.eigenvectors(), order, mag, dims);
}

}  // namespace strata::hier
