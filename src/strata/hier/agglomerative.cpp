// Agglomerative clustering by the nearest-neighbour chain algorithm on a condensed dissimilarity matrix
// (O(n^2) time and memory; exact for the reducible linkages offered here), then sorted by height and relabelled
// with a union-find exactly as scipy's nn_chain + label() do.
#include "strata/hier/agglomerative.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "strata/core/error.h"
#include "strata/hier/kmeans.h"
#include "strata/hier/named_choices.h"

namespace strata::hier {

namespace {
constexpr NamedChoices<Linkage, 4> kLinkages{"linkage",
                                             {{{Linkage::kAverage, "average"},
                                               {Linkage::kWard, "ward"},
                                               {Linkage::kSingle, "single"},
                                               {Linkage::kComplete, "complete"}}}};
}  // namespace

Linkage parse_linkage(const std::string& name) { return kLinkages.parse(name); }
const char* linkage_name(Linkage l) { return kLinkages.name(l); }

namespace {

// Upper triangle i < j of an n x n matrix, row-major: (n (n - 1) / 2).
struct Condensed {
  std::int64_t n;
  std::vector<double> v;
  explicit Condensed(std::int64_t n_) : n(n_), v(static_cast<std::size_t>(n_ * (n_ - 1) / 2)) {}
  double& at(std::int64_t i, std::int64_t j) {
    if (i > j) std::swap(i, j);
    return v[static_cast<std::size_t>(n * i - i * (i + 1) / 2 + (j - i - 1))];
  }
};

// Lance-Williams distance from cluster i to the union of x and y.
double updated(Linkage l, double dxi, double dyi, double dxy, double nx, double ny, double ni) {
  switch (l) {
    case Linkage::kSingle:
      return std::min(dxi, dyi);
    case Linkage::kComplete:
      return std::max(dxi, dyi);
    case Linkage::kAverage:
      return (nx * dxi + ny * dyi) / (nx + ny);
    case Linkage::kWard: {
      double t = 1.0 / (nx + ny + ni);
      double s = (ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * dxy * dxy;
      return std::sqrt(std::max(s, 0.0));
    }
  }
  return 0.0;
}

Dendrogram nn_chain(Condensed D, Linkage linkage) {
  const std::int64_t n = D.n;
  Dendrogram out;
  if (n <= 1) return out;
  struct Raw {
    int x, y;
    double h;
  };
  std::vector<Raw> raw;
  raw.reserve(n - 1);
  std::vector<double> size(n, 1.0);  // 0 once a slot is merged away
  std::vector<std::int64_t> chain;
  chain.reserve(n);
  for (std::int64_t step = 0; step < n - 1; ++step) {
    if (chain.empty())
      for (std::int64_t i = 0; i < n; ++i)
        if (size[i] > 0) {
          chain.push_back(i);
          break;
        }
    std::int64_t x, y = -1;
    double best;
    for (;;) {
      x = chain.back();
      // Prefer the previous chain element on ties, so the chain cannot cycle.
      if (chain.size() > 1) {
        y = chain[chain.size() - 2];
        best = D.at(x, y);
      } else {
        best = std::numeric_limits<double>::infinity();
      }
      for (std::int64_t i = 0; i < n; ++i) {
        if (size[i] == 0 || i == x) continue;
        double d = D.at(x, i);
        if (d < best) best = d, y = i;
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);
    double nx = size[x], ny = size[y];
    raw.push_back({static_cast<int>(x), static_cast<int>(y), best});
    size[x] = 0;  // slot x is dropped; slot y holds the union
    size[y] = nx + ny;
    for (std::int64_t i = 0; i < n; ++i) {
      if (size[i] == 0 || i == y) continue;
      D.at(i, y) = updated(linkage, D.at(i, x), D.at(i, y), best, nx, ny, size[i]);
    }
  }
  std::stable_sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) { return a.h < b.h; });
  // Relabel slots as cluster ids: union-find over slots, each root remembering its current cluster id.
  std::vector<int> parent(2 * n - 1);
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<int> cluster_size(2 * n - 1, 1);
  auto find = [&](int a) {
    int r = a;
    while (parent[r] != r) r = parent[r];
    while (parent[a] != r) {
      int nx2 = parent[a];
      parent[a] = r;
      a = nx2;
    }
    return r;
  };
  int next = static_cast<int>(n);
  for (const Raw& m : raw) {
    int a = find(m.x), b = find(m.y);
    if (a > b) std::swap(a, b);
    out.merges.push_back({a, b});
    out.heights.push_back(m.h);
    int s = cluster_size[a] + cluster_size[b];
    out.sizes.push_back(s);
    parent[a] = next;
    parent[b] = next;
    cluster_size[next] = s;
    ++next;
  }
  return out;
}

}  // namespace

Dendrogram agglomerative_points(const Eigen::MatrixXd& X, Linkage linkage) {
  validate_points(X, "agglomerative_points");
  const std::int64_t n = X.rows();
  Condensed D(n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) D.at(i, j) = (X.row(i) - X.row(j)).norm();
  return nn_chain(std::move(D), linkage);
}

Dendrogram agglomerative_dissimilarity(const Eigen::MatrixXd& M, Linkage linkage) {
  if (M.rows() != M.cols())
    bad_input("agglomerative_dissimilarity: expected a square matrix, got ", M.rows(), " x ", M.cols());
  if (M.rows() < 1) bad_input("agglomerative_dissimilarity: expected at least one item, got an empty matrix");
  const std::int64_t n = M.rows();
  double scale = 0.0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      if (i == j) continue;
      double v = M(i, j);
      if (!std::isfinite(v) || v < 0.0)
        bad_input("agglomerative_dissimilarity: expected finite non-negative dissimilarities, found ", v, " at (", i,
                  ", ", j, ")");
      scale = std::max(scale, v);
    }
  Condensed D(n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      if (std::abs(M(i, j) - M(j, i)) > 1e-9 * scale)
        bad_input("agglomerative_dissimilarity: expected a symmetric matrix, but D(", i, ", ", j, ") = ", M(i, j),
                  " and D(", j, ", ", i, ") = ", M(j, i));
      D.at(i, j) = M(i, j);
    }
  return nn_chain(std::move(D), linkage);
}

std::vector<int> cut_dendrogram(const Dendrogram& dg, int n, int k) {
  if (n < 1) bad_input("cut_dendrogram: expected n >= 1 points, got ", n);
  if (static_cast<int>(dg.merges.size()) != n - 1)
    bad_input("cut_dendrogram: expected ", n - 1, " merges for n = ", n, " points, got ", dg.merges.size());
  if (k < 1 || k > n) bad_input("cut_dendrogram: expected 1 <= k <= n = ", n, ", got k = ", k);
  std::vector<int> parent(2 * n - 1);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  std::vector<char> alive(2 * n - 1, 0);  // ids that are still top-level clusters
  std::fill(alive.begin(), alive.begin() + n, 1);
  for (int i = 0; i < n - k; ++i) {
    auto [a, b] = dg.merges[i];
    if (a < 0 || b < 0 || a >= n + i || b >= n + i || a == b || !alive[a] || !alive[b])
      bad_input("cut_dendrogram: merge ", i, " = (", a, ", ", b,
                ") is invalid; expected two distinct unmerged ids "
                "below ",
                n + i);
    alive[a] = alive[b] = 0;
    alive[n + i] = 1;
    parent[a] = n + i;
    parent[b] = n + i;
  }
  std::vector<int> labels(n), id_of_root(2 * n - 1, -1);
  int next = 0;
  for (int p = 0; p < n; ++p) {
    int r = find(p);
    if (id_of_root[r] < 0) id_of_root[r] = next++;
    labels[p] = id_of_root[r];
  }
  return labels;
}

}  // namespace strata::hier
