// Class means (optionally in PCA space), kernel MMD between classes, and the partition-based task similarity
// with its own compact depth-limited CART. Heavy products go through GEMM; threaded loops keep a fixed
// reduction order so results never depend on the thread count.
#include "strata/hier/conditional.h"

#include <cblas.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"

// LAPACK (from OpenBLAS): eigenpairs of a symmetric matrix by index range, Fortran calling convention.
extern "C" void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
                        const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m,
                        double* w, double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
                        const int* liwork, int* info, std::size_t, std::size_t, std::size_t);

namespace strata::hier {

namespace {
// Row-major sgemm straight through OpenBLAS: hier depends on core, data and io only (DESIGN.md §2), not on the
// engine's backend.
void sgemm_rm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
              float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}
}  // namespace

namespace {

void check_dataset(const data::Dataset& ds, const char* what) {
  const std::string src = ds.source.empty() ? std::string("data set") : ds.source;
  if (ds.n == 0 || ds.d == 0) bad_input(what, ": ", src, " is empty (n = ", ds.n, ", d = ", ds.d, ")");
  if (ds.x.size() != ds.n * ds.d)
    bad_input(what, ": ", src, ": features hold ", ds.x.size(), " values, expected n*d = ", ds.n * ds.d);
  if (ds.y.size() != ds.n) bad_input(what, ": ", src, ": ", ds.y.size(), " labels for ", ds.n, " rows");
  const int k = ds.num_classes();
  for (std::size_t i = 0; i < ds.n; ++i)
    if (ds.y[i] < 0 || ds.y[i] >= k)
      bad_input(what, ": ", src, ": row ", i, " has label ", ds.y[i], " outside [0, ", k, ")");
}

// Row indices of each class, in row order.
std::vector<std::vector<std::size_t>> rows_by_class(const data::Dataset& ds) {
  std::vector<std::vector<std::size_t>> r(ds.num_classes());
  for (std::size_t i = 0; i < ds.n; ++i) r[ds.y[i]].push_back(i);
  return r;
}

// At most cap indices of each class (0 = all), a seeded draw without replacement, kept in row order.
std::vector<std::vector<std::size_t>> sample_by_class(const data::Dataset& ds, std::size_t cap, std::uint64_t seed,
                                                      std::size_t min_count, const char* what) {
  auto r = rows_by_class(ds);
  for (int c = 0; c < ds.num_classes(); ++c) {
    auto& v = r[c];
    if (v.size() < min_count)
      bad_input(what, ": class '", ds.classes[c], "' has ", v.size(), " examples, needs at least ", min_count);
    if (cap == 0 || v.size() <= cap) continue;
    Rng rng(derive_seed(seed, c));
    for (std::size_t i = 0; i < cap; ++i) std::swap(v[i], v[i + rng.below(v.size() - i)]);
    v.resize(cap);
    std::sort(v.begin(), v.end());
  }
  return r;
}

constexpr std::size_t kChunkRows = 4096;

// buf (rows, d) = rows b .. b + rows of the data minus mu.
void centre_rows(const data::Dataset& ds, const Eigen::VectorXd& mu, std::size_t b, int rows, float* buf) {
  const std::size_t d = ds.d;
  for (int r = 0; r < rows; ++r)
    for (std::size_t f = 0; f < d; ++f) buf[r * d + f] = ds.row(b + r)[f] - static_cast<float>(mu[f]);
}

// out (d, l) = Xc^T Xc M for the centred data Xc = X - 1 mu^T, M (d, l); streamed in row chunks.
Eigen::MatrixXd cov_apply(const data::Dataset& ds, const Eigen::VectorXd& mu, const Eigen::MatrixXd& m) {
  const int d = static_cast<int>(ds.d), l = static_cast<int>(m.cols());
  std::vector<float> mf(static_cast<std::size_t>(d) * l);  // (d, l) row-major
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < l; ++j) mf[static_cast<std::size_t>(i) * l + j] = static_cast<float>(m(i, j));
  const std::size_t chunk = std::min(kChunkRows, ds.n);
  std::vector<float> buf(chunk * ds.d), t(chunk * l), z(static_cast<std::size_t>(d) * l);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(d, l);
  for (std::size_t b = 0; b < ds.n; b += kChunkRows) {
    const int rows = static_cast<int>(std::min(kChunkRows, ds.n - b));
    centre_rows(ds, mu, b, rows, buf.data());
    sgemm_rm(false, false, rows, l, d, 1.f, buf.data(), d, mf.data(), l, 0.f, t.data(), l);  // (rows, l)
    sgemm_rm(true, false, d, l, rows, 1.f, buf.data(), d, t.data(), l, 0.f, z.data(), l);    // (d, l)
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < l; ++j) out(i, j) += z[static_cast<std::size_t>(i) * l + j];
  }
  return out;
}

// (d, d) = Xc^T Xc, streamed in row chunks, accumulated in double across chunks.
Eigen::MatrixXd scatter_matrix(const data::Dataset& ds, const Eigen::VectorXd& mu) {
  const int d = static_cast<int>(ds.d);
  const std::size_t chunk = std::min(kChunkRows, ds.n);
  std::vector<float> buf(chunk * ds.d), z(static_cast<std::size_t>(d) * d);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(d, d);
  for (std::size_t b = 0; b < ds.n; b += kChunkRows) {
    const int rows = static_cast<int>(std::min(kChunkRows, ds.n - b));
    centre_rows(ds, mu, b, rows, buf.data());
    // syrk: only the upper triangle, half the flops of the equivalent GEMM.
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.f, buf.data(), d, 0.f, z.data(), d);  // (d, d)
    for (int i = 0; i < d; ++i)
      for (int j = i; j < d; ++j) out(i, j) += z[static_cast<std::size_t>(i) * d + j];
  }
  return out.selfadjointView<Eigen::Upper>();
}

// Top r principal directions (d, r), columns by decreasing variance.
Eigen::MatrixXd principal_components(const data::Dataset& ds, const Eigen::VectorXd& mu, int r, std::uint64_t seed) {
  const int d = static_cast<int>(ds.d);
  Eigen::MatrixXd comps;
  if (d <= 2048) {
    // Only the top r eigenpairs, via LAPACK's MRRR solver (several times faster than a full Eigen solve at
    // d = 784). The scatter matrix is symmetric, so row- vs column-major does not matter.
    Eigen::MatrixXd a = scatter_matrix(ds, mu);
    const int il = d - r + 1, iu = d, lda = d;
    const double vl = 0, vu = 0, abstol = 0;
    int m = 0, info = 0, lwork = -1, liwork = -1, iwork_q = 0;
    double work_q = 0;
    std::vector<double> w(d);
    Eigen::MatrixXd z(d, r);
    std::vector<int> isuppz(2 * static_cast<std::size_t>(r));
    dsyevr_("V", "I", "U", &d, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &lda, isuppz.data(),
            &work_q, &lwork, &iwork_q, &liwork, &info, 1, 1, 1);
    lwork = static_cast<int>(work_q);
    liwork = iwork_q;
    std::vector<double> work(std::max(1, lwork));
    std::vector<int> iwork(std::max(1, liwork));
    dsyevr_("V", "I", "U", &d, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &lda, isuppz.data(),
            work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
    if (info != 0 || m != r) internal_error("class_means: LAPACK dsyevr failed (info ", info, ", ", m, " of ", r, ")");
    comps = z.rowwise().reverse();  // ascending -> decreasing variance
  } else {
    // Randomized subspace iteration (Halko et al.): a few power steps on the scatter operator, then
    // Rayleigh-Ritz in the l-dimensional subspace.
    const int l = std::min(d, r + 10);
    Rng rng(derive_seed(seed, 0x9ca));
    Eigen::MatrixXd q(d, l);
    for (int j = 0; j < l; ++j)
      for (int i = 0; i < d; ++i) q(i, j) = rng.normal();
    for (int it = 0; it < 4; ++it) {
      Eigen::HouseholderQR<Eigen::MatrixXd> qr(it == 0 ? q : cov_apply(ds, mu, q));
      q = qr.householderQ() * Eigen::MatrixXd::Identity(d, l);
    }
    Eigen::MatrixXd b = q.transpose() * cov_apply(ds, mu, q);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (b + b.transpose()));
    comps = q * es.eigenvectors().rightCols(r).rowwise().reverse();
  }
  for (int j = 0; j < r; ++j) {  // fix the sign so the result is reproducible across LAPACK/Eigen versions
    Eigen::Index arg;
    comps.col(j).cwiseAbs().maxCoeff(&arg);
    if (comps(arg, j) < 0) comps.col(j) *= -1;
  }
  return comps;
}

}  // namespace

Eigen::MatrixXd class_means(const data::Dataset& ds, int pca_dims, std::uint64_t seed) {
  check_dataset(ds, "class_means");
  const int k = ds.num_classes(), d = static_cast<int>(ds.d);
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, d);  // (K, d)
  std::vector<std::size_t> count(k, 0);
  for (std::size_t i = 0; i < ds.n; ++i) {
    const float* x = ds.row(i);
    auto row = sums.row(ds.y[i]);
    for (int f = 0; f < d; ++f) row[f] += x[f];
    count[ds.y[i]]++;
  }
  for (int c = 0; c < k; ++c) {
    if (count[c] == 0) bad_input("class_means: class '", ds.classes[c], "' has no examples in ", ds.source);
    sums.row(c) /= static_cast<double>(count[c]);
  }
  if (pca_dims <= 0) return sums;
  const int r = std::min(pca_dims, d);
  Eigen::VectorXd mu = Eigen::VectorXd::Zero(d);
  for (int c = 0; c < k; ++c) mu += sums.row(c).transpose() * static_cast<double>(count[c]);
  mu /= static_cast<double>(ds.n);
  Eigen::MatrixXd comps = principal_components(ds, mu, r, seed);  // (d, r)
  // Projection is linear, so the mean of the projected class equals the projected class mean.
  return (sums.rowwise() - mu.transpose()) * comps;
}

namespace {

// Start of each class's rows in the class-major pooled sample: off[c] .. off[c + 1] (k + 1 entries).
std::vector<std::size_t> class_offsets(const std::vector<std::vector<std::size_t>>& idx) {
  std::vector<std::size_t> off(idx.size() + 1, 0);
  for (std::size_t c = 0; c < idx.size(); ++c) off[c + 1] = off[c] + idx[c].size();
  return off;
}

// The sampled rows of every class pooled class-major, with their squared norms.
struct PooledRows {
  std::vector<float> x;    // (P, d)
  std::vector<double> sq;  // (P) |x_r|^2
};

// Copies the rows idx[c] of each class into one class-major (P, d) block, off from class_offsets(idx).
PooledRows pool_rows(const data::Dataset& ds, const std::vector<std::vector<std::size_t>>& idx,
                     const std::vector<std::size_t>& off) {
  const std::size_t d = ds.d, p = off.back();
  PooledRows pr{std::vector<float>(p * d), std::vector<double>(p)};
  for (std::size_t c = 0; c < idx.size(); ++c)
    for (std::size_t a = 0; a < idx[c].size(); ++a) {
      const std::size_t r = off[c] + a;
      std::copy_n(ds.row(idx[c][a]), d, pr.x.data() + r * d);
      double s = 0;
      for (std::size_t f = 0; f < d; ++f) s += static_cast<double>(pr.x[r * d + f]) * pr.x[r * d + f];
      pr.sq[r] = s;
    }
  return pr;
}

// Gaussian kernel gamma = 1 / (2 sigma^2), sigma^2 the median squared distance among up to 1000 pooled points
// drawn with seed (1 when that median is 0).
double median_gamma(const PooledRows& pr, std::size_t d, std::uint64_t seed) {
  const std::size_t p = pr.sq.size();
  std::vector<std::size_t> sub(p);
  std::iota(sub.begin(), sub.end(), 0);
  const std::size_t s = std::min<std::size_t>(p, 1000);
  Rng rng(seed);
  for (std::size_t i = 0; i < s; ++i) std::swap(sub[i], sub[i + rng.below(p - i)]);
  sub.resize(s);
  std::vector<float> xs(s * d), g(s * s);
  for (std::size_t i = 0; i < s; ++i) std::copy_n(pr.x.data() + sub[i] * d, d, xs.data() + i * d);
  sgemm_rm(false, true, static_cast<int>(s), static_cast<int>(s), static_cast<int>(d), 1.f, xs.data(),
           static_cast<int>(d), xs.data(), static_cast<int>(d), 0.f, g.data(), static_cast<int>(s));
  std::vector<double> dist;
  dist.reserve(s * (s - 1) / 2);
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t j = i + 1; j < s; ++j)
      dist.push_back(std::max(0.0, pr.sq[sub[i]] + pr.sq[sub[j]] - 2.0 * g[i * s + j]));
  double med = 0;
  if (!dist.empty()) {
    auto mid = dist.begin() + dist.size() / 2;
    std::nth_element(dist.begin(), mid, dist.end());
    med = *mid;
  }
  return 1.0 / (2.0 * (med > 0 ? med : 1.0));
}

// ksum(i, j) = Σ k(x, y) over x in class i, y in class j (j >= i; x != y when i == j); the lower triangle stays 0.
// Row blocks of class i against the pooled points from class i on; each row's per-class sums land in its own
// slot, then are added in row order, so the result does not depend on the thread count.
Eigen::MatrixXd kernel_sums(const PooledRows& pr, const std::vector<std::size_t>& off, std::size_t d, double gamma,
                            ThreadPool& pool) {
  const int k = static_cast<int>(off.size()) - 1;
  const std::size_t p = off[k];
  const std::vector<double>& sq = pr.sq;
  Eigen::MatrixXd ksum = Eigen::MatrixXd::Zero(k, k);
  constexpr std::size_t kBlock = 256;
  std::vector<float> g;
  std::vector<double> part;
  for (int i = 0; i < k; ++i) {
    const std::size_t cols = p - off[i];
    for (std::size_t a0 = off[i]; a0 < off[i + 1]; a0 += kBlock) {
      const std::size_t rows = std::min(kBlock, off[i + 1] - a0);
      g.resize(rows * cols);
      sgemm_rm(false, true, static_cast<int>(rows), static_cast<int>(cols), static_cast<int>(d), 1.f,
               pr.x.data() + a0 * d, static_cast<int>(d), pr.x.data() + off[i] * d, static_cast<int>(d), 0.f, g.data(),
               static_cast<int>(cols));  // (rows, cols)
      part.assign(rows * k, 0.0);
      pool.parallel_for(rows, [&](std::size_t r) {
        const std::size_t a = a0 + r;
        const float* gr = g.data() + r * cols;
        double* out = part.data() + r * k;
        for (int j = i; j < k; ++j) {
          double s = 0;
          for (std::size_t b = off[j]; b < off[j + 1]; ++b) {
            if (b == a) continue;
            const double dist = std::max(0.0, sq[a] + sq[b] - 2.0 * gr[b - off[i]]);
            s += std::exp(-gamma * dist);
          }
          out[j] = s;
        }
      });
      for (std::size_t r = 0; r < rows; ++r)
        for (int j = i; j < k; ++j) ksum(i, j) += part[r * k + j];
    }
  }
  return ksum;
}

}  // namespace

Eigen::MatrixXd mmd_matrix(const data::Dataset& ds, std::size_t max_per_class, std::uint64_t seed, int threads) {
  check_dataset(ds, "mmd_matrix");
  const int k = ds.num_classes();
  auto idx = sample_by_class(ds, max_per_class, derive_seed(seed, 1), 2, "mmd_matrix");
  const std::vector<std::size_t> off = class_offsets(idx);
  const PooledRows pooled = pool_rows(ds, idx, off);
  const double gamma = median_gamma(pooled, ds.d, derive_seed(seed, 2));
  ThreadPool pool(threads);
  const Eigen::MatrixXd ksum = kernel_sums(pooled, off, ds.d, gamma, pool);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(k, k);
  auto m = [&](int c) { return static_cast<double>(idx[c].size()); };
  for (int i = 0; i < k; ++i)
    for (int j = i + 1; j < k; ++j) {
      const double mmd2 =
          ksum(i, i) / (m(i) * (m(i) - 1)) + ksum(j, j) / (m(j) * (m(j) - 1)) - 2.0 * ksum(i, j) / (m(i) * m(j));
      out(i, j) = out(j, i) = std::sqrt(std::max(0.0, mmd2));
    }
  return out;
}

namespace {

constexpr int kBins = 64;

// A depth-limited gini CART on binned features: a node sends a point left when its bin code <= thr.
// Why not the forest's trees (forest.h): task similarity fits one tree per class pair on codes binned once for
// the pooled points (64 bins), tries every feature at every node, breaks ties to the lowest (feature, bin) and
// stops when no split lowers the gini. RandomForest bins each fit's rows anew (256 bins), visits a random subset
// of features in random order and splits whenever a split exists; with one tree, max_features = d and no
// bootstrap it would still choose other splits on ties, so the similarities (and every induced tree built from
// them) would change, and re-binning per pair would cost k^2 binning passes. The two share the idea, not the code.
struct SmallTree {
  struct Node {
    int feature = -1, thr = 0, left = -1, right = -1, leaf = -1;
  };
  std::vector<Node> nodes;
  int n_leaves = 0;

  int leaf_of(const std::uint8_t* codes) const {
    int v = 0;
    while (nodes[v].leaf < 0) v = codes[nodes[v].feature] <= nodes[v].thr ? nodes[v].left : nodes[v].right;
    return nodes[v].leaf;
  }
};

// codes: (P, d) bin codes; pts: rows of the training set; pos: 1 for the positive class.
SmallTree fit_small_tree(const std::vector<std::uint8_t>& codes, std::size_t d, std::vector<std::size_t> pts,
                         std::vector<std::uint8_t> pos, int max_depth) {
  SmallTree t;
  std::vector<int> cnt(d * kBins), npos(d * kBins);
  // Recursion on explicit index lists; depth <= max_depth keeps the stack tiny.
  auto build = [&](auto&& self, std::vector<std::size_t>& p, std::vector<std::uint8_t>& y, int depth) -> int {
    const int id = static_cast<int>(t.nodes.size());
    t.nodes.emplace_back();
    const int n = static_cast<int>(p.size());
    int n1 = 0;
    for (auto v : y) n1 += v;
    auto make_leaf = [&] {
      t.nodes[id].leaf = t.n_leaves++;
      return id;
    };
    if (depth >= max_depth || n1 == 0 || n1 == n) return make_leaf();
    std::fill(cnt.begin(), cnt.end(), 0);
    std::fill(npos.begin(), npos.end(), 0);
    for (int i = 0; i < n; ++i) {
      const std::uint8_t* c = codes.data() + p[i] * d;
      const int yi = y[i];
      for (std::size_t f = 0; f < d; ++f) {
        cnt[f * kBins + c[f]]++;
        npos[f * kBins + c[f]] += yi;
      }
    }
    // Weighted gini of a side = 2 pos neg / size; minimise the sum over both sides.
    const double parent = 2.0 * n1 * (n - n1) / n;
    double best = parent - 1e-9;
    int bf = -1, bt = -1;
    for (std::size_t f = 0; f < d; ++f) {
      int nl = 0, pl = 0;
      for (int b = 0; b < kBins - 1; ++b) {
        nl += cnt[f * kBins + b];
        pl += npos[f * kBins + b];
        if (nl == 0 || cnt[f * kBins + b] == 0) continue;
        if (nl == n) break;
        const int nr = n - nl, pr = n1 - pl;
        const double g = 2.0 * pl * (nl - pl) / nl + 2.0 * pr * (nr - pr) / nr;
        if (g < best) {
          best = g;
          bf = static_cast<int>(f);
          bt = b;
        }
      }
    }
    if (bf < 0) return make_leaf();
    std::vector<std::size_t> lp, rp;
    std::vector<std::uint8_t> ly, ry;
    for (int i = 0; i < n; ++i) {
      if (codes[p[i] * d + bf] <= bt) {
        lp.push_back(p[i]);
        ly.push_back(y[i]);
      } else {
        rp.push_back(p[i]);
        ry.push_back(y[i]);
      }
    }
    p.clear();
    p.shrink_to_fit();
    y.clear();
    y.shrink_to_fit();
    t.nodes[id].feature = bf;
    t.nodes[id].thr = bt;
    const int l = self(self, lp, ly, depth + 1);
    const int r = self(self, rp, ry, depth + 1);
    t.nodes[id].left = l;
    t.nodes[id].right = r;
    return id;
  };
  build(build, pts, pos, 0);
  return t;
}

// Bin codes (P, d) of the pooled points (class-major, off from class_offsets): up to 63 quantile edges per
// feature (every distinct value when there are at most 64), code = number of edges below the value, so
// "code <= t" is "x <= edge[t]". Threaded over features.
std::vector<std::uint8_t> pooled_bin_codes(const data::Dataset& ds, const std::vector<std::vector<std::size_t>>& idx,
                                           const std::vector<std::size_t>& off, ThreadPool& pool) {
  const std::size_t d = ds.d, p = off.back();
  std::vector<std::uint8_t> codes(p * d);  // (P, d)
  pool.parallel_for(d, [&](std::size_t f) {
    std::vector<float> col(p);
    for (std::size_t c = 0; c < idx.size(); ++c)
      for (std::size_t a = 0; a < idx[c].size(); ++a) col[off[c] + a] = ds.row(idx[c][a])[f];
    std::vector<float> sorted = col;
    std::sort(sorted.begin(), sorted.end());
    std::vector<float> edges = sorted;
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    if (edges.size() > static_cast<std::size_t>(kBins)) {
      std::vector<float> q;
      for (int b = 1; b < kBins; ++b) q.push_back(sorted[(p - 1) * b / kBins]);
      q.erase(std::unique(q.begin(), q.end()), q.end());
      edges = std::move(q);
    }
    for (std::size_t r = 0; r < p; ++r)
      codes[r * d + f] =
          static_cast<std::uint8_t>(std::lower_bound(edges.begin(), edges.end(), col[r]) - edges.begin());
  });
  return codes;
}

// The class pairs (i < j), the reference classes drawn for each, and the one-vs-one trees those draws need.
struct ReferenceDraws {
  std::vector<std::pair<int, int>> pairs;       // (i, j), i < j, in row-major order
  std::vector<int> ref;                         // (pairs, negatives) the third class of each draw
  std::map<std::pair<int, int>, int> tree_id;   // (a, b), a < b -> index into tree_pairs
  std::vector<std::pair<int, int>> tree_pairs;  // the class pairs to fit a tree on, in key order
};

// For every pair (i, j) of the k classes, `negatives` seeded draws of a third class c, and the set of (i, c) and
// (j, c) trees they need.
ReferenceDraws draw_references(int k, int negatives, std::uint64_t seed) {
  ReferenceDraws rd;
  for (int i = 0; i < k; ++i)
    for (int j = i + 1; j < k; ++j) rd.pairs.emplace_back(i, j);
  rd.ref.resize(rd.pairs.size() * negatives);
  for (std::size_t q = 0; q < rd.pairs.size(); ++q) {
    auto [i, j] = rd.pairs[q];
    for (int r = 0; r < negatives; ++r) {
      Rng rng(derive_seed(seed, 3, i, j, r));
      int c = static_cast<int>(rng.below(static_cast<std::uint64_t>(k - 2)));
      for (int skip : {std::min(i, j), std::max(i, j)})
        if (c >= skip) ++c;
      rd.ref[q * negatives + r] = c;
      rd.tree_id.emplace(std::minmax(i, c), 0);
      rd.tree_id.emplace(std::minmax(j, c), 0);
    }
  }
  for (auto& [key, id] : rd.tree_id) {
    id = static_cast<int>(rd.tree_pairs.size());
    rd.tree_pairs.push_back(key);
  }
  return rd;
}

// One SmallTree per class pair (a, b) of tree_pairs, fitted on the pooled codes of a (positive) and b; threaded.
std::vector<SmallTree> fit_pair_trees(const std::vector<std::uint8_t>& codes, std::size_t d,
                                      const std::vector<std::size_t>& off,
                                      const std::vector<std::pair<int, int>>& tree_pairs, int max_depth,
                                      ThreadPool& pool) {
  std::vector<SmallTree> trees(tree_pairs.size());
  pool.parallel_for(tree_pairs.size(), [&](std::size_t t) {
    auto [a, b] = tree_pairs[t];
    std::vector<std::size_t> pts;
    std::vector<std::uint8_t> y;
    for (int c : {a, b})
      for (std::size_t r = off[c]; r < off[c + 1]; ++r) {
        pts.push_back(r);
        y.push_back(c == a);
      }
    trees[t] = fit_small_tree(codes, d, std::move(pts), std::move(y), max_depth);
  });
  return trees;
}

// Per example, the majority label (1 when ties) of its leaf among the examples in that leaf.
std::vector<std::uint8_t> leaf_majority(const std::vector<int>& leaf, int n_leaves,
                                        const std::vector<std::uint8_t>& y) {
  std::vector<int> n(n_leaves, 0), ni(n_leaves, 0);
  for (std::size_t e = 0; e < leaf.size(); ++e) {
    n[leaf[e]]++;
    ni[leaf[e]] += y[e];
  }
  std::vector<std::uint8_t> out(leaf.size());
  for (std::size_t e = 0; e < leaf.size(); ++e) out[e] = 2 * ni[leaf[e]] >= n[leaf[e]];
  return out;
}

// The fitted partitions over the pooled codes that partition_agreement compares.
struct Partitions {
  const std::vector<std::uint8_t>& codes;  // (P, d)
  std::size_t d;
  const std::vector<std::size_t>& off;  // class offsets into the pooled rows
  const std::vector<SmallTree>& trees;
  const std::map<std::pair<int, int>, int>& tree_id;
};

// Agreement of the own partition's (i vs c) and the other partition's (other vs c) predictions on the i-vs-c
// examples, each partition labelling its leaves by their i-vs-c majority.
double partition_agreement(const Partitions& pt, int i, int other, int c) {
  const SmallTree& own = pt.trees[pt.tree_id.at(std::minmax(i, c))];
  const SmallTree& oth = pt.trees[pt.tree_id.at(std::minmax(other, c))];
  std::vector<int> la, lb;
  std::vector<std::uint8_t> y;
  for (int cl : {i, c})
    for (std::size_t r = pt.off[cl]; r < pt.off[cl + 1]; ++r) {
      la.push_back(own.leaf_of(pt.codes.data() + r * pt.d));
      lb.push_back(oth.leaf_of(pt.codes.data() + r * pt.d));
      y.push_back(cl == i);
    }
  auto pa = leaf_majority(la, own.n_leaves, y), pb = leaf_majority(lb, oth.n_leaves, y);
  std::size_t same = 0;
  for (std::size_t e = 0; e < pa.size(); ++e) same += pa[e] == pb[e];
  return static_cast<double>(same) / static_cast<double>(pa.size());
}

}  // namespace

Eigen::MatrixXd task_similarity(const data::Dataset& ds, int negatives, std::uint64_t seed, int max_depth,
                                std::size_t max_per_class, int threads) {
  check_dataset(ds, "task_similarity");
  const int k = ds.num_classes();
  if (k < 3) bad_input("task_similarity: needs at least 3 classes (a third class is the reference), got ", k);
  if (negatives < 1) bad_input("task_similarity: negatives must be >= 1, got ", negatives);
  if (max_depth < 1) bad_input("task_similarity: max_depth must be >= 1, got ", max_depth);
  auto idx = sample_by_class(ds, max_per_class, derive_seed(seed, 1), 1, "task_similarity");
  const std::vector<std::size_t> off = class_offsets(idx);
  ThreadPool pool(threads);
  const std::vector<std::uint8_t> codes = pooled_bin_codes(ds, idx, off, pool);
  // The reference class of each (pair, draw), then every tree those draws need, fitted once.
  const ReferenceDraws rd = draw_references(k, negatives, seed);
  const std::vector<SmallTree> trees = fit_pair_trees(codes, ds.d, off, rd.tree_pairs, max_depth, pool);
  const Partitions pt{codes, ds.d, off, trees, rd.tree_id};
  std::vector<double> score(rd.pairs.size(), 0.0);
  pool.parallel_for(rd.pairs.size(), [&](std::size_t q) {
    auto [i, j] = rd.pairs[q];
    double s = 0;
    for (int r = 0; r < negatives; ++r) {
      const int c = rd.ref[q * negatives + r];
      s += 0.5 * (partition_agreement(pt, i, j, c) + partition_agreement(pt, j, i, c));
    }
    score[q] = s / negatives;
  });
  Eigen::MatrixXd out = Eigen::MatrixXd::Identity(k, k);
  for (std::size_t q = 0; q < rd.pairs.size(); ++q)
    out(rd.pairs[q].first, rd.pairs[q].second) = out(rd.pairs[q].second, rd.pairs[q].first) = score[q];
  return out;
}

}  // namespace strata::hier
