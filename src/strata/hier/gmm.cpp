// EM for Gaussian mixtures following scikit-learn's GaussianMixture step for step (k-means responsibilities as the
// start, M step with reg_covar on the diagonal, Cholesky factors of the precisions, log-sum-exp E step, stop when
// the mean log-likelihood moves by less than tol), and BIC selection over a (k, covariance type) grid.
#include "strata/hier/gmm.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numbers>
#include <optional>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"
#include "strata/hier/kmeans.h"
#include "strata/hier/named_choices.h"

namespace strata::hier {

namespace {
constexpr NamedChoices<Covariance, 4> kCovariances{"covariance type",
                                                   {{{Covariance::kSpherical, "spherical"},
                                                     {Covariance::kDiag, "diag"},
                                                     {Covariance::kTied, "tied"},
                                                     {Covariance::kFull, "full"}}}};
}  // namespace

Covariance parse_covariance(const std::string& name) { return kCovariances.parse(name); }
const char* covariance_name(Covariance c) { return kCovariances.name(c); }

int gmm_n_parameters(Covariance cov, int k, int d) {
  int cov_params = 0;
  switch (cov) {
    case Covariance::kFull:
      cov_params = k * d * (d + 1) / 2;
      break;
    case Covariance::kTied:
      cov_params = d * (d + 1) / 2;
      break;
    case Covariance::kDiag:
      cov_params = k * d;
      break;
    case Covariance::kSpherical:
      cov_params = k;
      break;
  }
  return cov_params + k * d + k - 1;
}

namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // ln(2 pi)

[[noreturn]] void ill_defined(Covariance cov, int k, int component) {
  bad_input("gmm (k = ", k, ", covariance ", covariance_name(cov), "): the covariance of component ", component,
            " is ill-defined (not positive definite; singleton or collapsed samples). Increase reg_covar, lower k, "
            "or rescale the data");
}

// Upper-triangular U with U U^T = C^{-1}, i.e. U = L^{-T} for C = L L^T.
Eigen::MatrixXd precision_cholesky(const Eigen::MatrixXd& C, Covariance cov, int k, int component) {
  Eigen::LLT<Eigen::MatrixXd> llt(C);
  if (llt.info() != Eigen::Success) ill_defined(cov, k, component);
  const Eigen::Index d = C.rows();
  Eigen::MatrixXd Linv = llt.matrixL().solve(Eigen::MatrixXd::Identity(d, d));
  if (!Linv.allFinite()) ill_defined(cov, k, component);
  return Linv.transpose();
}

// M step: weights, means and covariances from responsibilities resp (n, k), then the precision factors.
void m_step(const Eigen::MatrixXd& X, const Eigen::MatrixXd& resp, double reg, Gmm& g) {
  const Eigen::Index n = X.rows(), d = X.cols(), k = resp.cols();
  (void)n;
  // scikit-learn adds 10 eps so an empty component divides by a tiny number rather than zero.
  Eigen::VectorXd nk = resp.colwise().sum().transpose().array() + 10.0 * std::numeric_limits<double>::epsilon();  // (k)
  g.means = (resp.transpose() * X).array().colwise() / nk.array();  // (k, d)
  g.weights = nk / nk.sum();
  Eigen::MatrixXd diff(X.rows(), d);  // (n, d) X - mu_j
  switch (g.cov) {
    case Covariance::kFull: {
      g.covariances.resize(k);
      g.precisions_cholesky.resize(k);
      for (Eigen::Index j = 0; j < k; ++j) {
        diff = X.rowwise() - g.means.row(j);
        Eigen::MatrixXd& C = g.covariances[j];  // (d, d)
        C.noalias() = diff.transpose() * (diff.array().colwise() * resp.col(j).array()).matrix();
        C /= nk[j];
        C.diagonal().array() += reg;
        g.precisions_cholesky[j] = precision_cholesky(C, g.cov, static_cast<int>(k), static_cast<int>(j));
      }
      break;
    }
    case Covariance::kTied: {
      // The pooled within-component scatter, summed directly (scikit-learn's X^T X - sum nk mu mu^T cancels badly
      // for offset data; the two agree in exact arithmetic).
      Eigen::MatrixXd C = Eigen::MatrixXd::Zero(d, d);  // (d, d)
      for (Eigen::Index j = 0; j < k; ++j) {
        diff = X.rowwise() - g.means.row(j);
        C.noalias() += diff.transpose() * (diff.array().colwise() * resp.col(j).array()).matrix();
      }
      C /= nk.sum();
      C.diagonal().array() += reg;
      g.covariances.assign(1, C);
      g.precisions_cholesky.assign(1, precision_cholesky(C, g.cov, static_cast<int>(k), 0));
      break;
    }
    case Covariance::kDiag:
    case Covariance::kSpherical: {
      Eigen::MatrixXd var(k, d);  // (k, d)
      for (Eigen::Index j = 0; j < k; ++j) {
        diff = X.rowwise() - g.means.row(j);
        var.row(j) = (resp.col(j).transpose() * diff.array().square().matrix()) / nk[j];
      }
      var.array() += reg;
      if (g.cov == Covariance::kSpherical) var = var.rowwise().mean().eval();  // (k, 1)
      for (Eigen::Index j = 0; j < var.rows(); ++j)
        if (!(var.row(j).minCoeff() > 0.0) || !var.row(j).allFinite())
          ill_defined(g.cov, static_cast<int>(k), static_cast<int>(j));
      g.variances = var;
      g.precisions_cholesky_diag = var.array().rsqrt();
      break;
    }
  }
}

// (n, k) log N(x_i | mu_j, Sigma_j), without the weights.
Eigen::MatrixXd log_gaussian(const Gmm& g, const Eigen::MatrixXd& X) {
  const Eigen::Index n = X.rows(), d = X.cols(), k = g.k();
  Eigen::MatrixXd lp(n, k);
  Eigen::MatrixXd diff(n, d), y(n, d);  // (n, d)
  const double base = static_cast<double>(d) * kLog2Pi;
  for (Eigen::Index j = 0; j < k; ++j) {
    diff = X.rowwise() - g.means.row(j);
    double log_det = 0.0;  // log det of the precision factor = -1/2 log det Sigma_j
    Eigen::VectorXd maha;  // (n)
    switch (g.cov) {
      case Covariance::kFull:
      case Covariance::kTied: {
        const Eigen::MatrixXd& U = g.precisions_cholesky[g.cov == Covariance::kFull ? j : 0];
        y.noalias() = diff * U.triangularView<Eigen::Upper>();
        maha = y.rowwise().squaredNorm();
        log_det = U.diagonal().array().log().sum();
        break;
      }
      case Covariance::kDiag: {
        Eigen::RowVectorXd p = g.precisions_cholesky_diag.row(j);
        maha = (diff.array().rowwise() * p.array()).square().rowwise().sum();
        log_det = p.array().log().sum();
        break;
      }
      case Covariance::kSpherical: {
        double p = g.precisions_cholesky_diag(j, 0);
        maha = diff.rowwise().squaredNorm() * (p * p);
        log_det = static_cast<double>(d) * std::log(p);
        break;
      }
    }
    lp.col(j) = (-0.5 * (base + maha.array()) + log_det).matrix();
  }
  return lp;
}

// Row-wise log-sum-exp of (n, k); subtracts it from wlp in place (giving log responsibilities) and returns it.
Eigen::VectorXd normalize_rows(Eigen::MatrixXd& wlp) {
  Eigen::VectorXd lse(wlp.rows());
  for (Eigen::Index i = 0; i < wlp.rows(); ++i) {
    double m = wlp.row(i).maxCoeff();
    if (!std::isfinite(m)) {
      lse[i] = m;
      wlp.row(i).setConstant(-std::log(static_cast<double>(wlp.cols())));
      continue;
    }
    lse[i] = m + std::log((wlp.row(i).array() - m).exp().sum());
    wlp.row(i).array() -= lse[i];
  }
  return lse;
}

void check_input(const Gmm& g, const Eigen::MatrixXd& X, const char* what) {
  if (g.k() == 0) bad_input("gmm.", what, ": the model is not fitted");
  validate_points(X, std::string("gmm.") + what);
  if (X.cols() != g.d()) bad_input("gmm.", what, ": expected ", g.d(), " features, got ", X.cols());
}

}  // namespace

Eigen::MatrixXd Gmm::covariance(int j) const {
  if (j < 0 || j >= k()) bad_input("gmm.covariance: component ", j, " out of range [0, ", k(), ")");
  const Eigen::Index dd = d();
  switch (cov) {
    case Covariance::kFull:
      return covariances[j];
    case Covariance::kTied:
      return covariances[0];
    case Covariance::kDiag:
      return variances.row(j).transpose().asDiagonal();
    case Covariance::kSpherical:
      return Eigen::MatrixXd::Identity(dd, dd) * variances(j, 0);
  }
  return {};
}

Eigen::MatrixXd Gmm::log_prob(const Eigen::MatrixXd& X) const {
  check_input(*this, X, "log_prob");
  Eigen::MatrixXd lp = log_gaussian(*this, X);
  lp.rowwise() += weights.array().log().matrix().transpose();
  return lp;
}

Eigen::MatrixXd Gmm::predict_proba(const Eigen::MatrixXd& X) const {
  Eigen::MatrixXd lp = log_prob(X);
  normalize_rows(lp);
  return lp.array().exp();
}

std::vector<int> Gmm::predict(const Eigen::MatrixXd& X) const {
  Eigen::MatrixXd lp = log_prob(X);
  std::vector<int> out(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    Eigen::Index arg;
    lp.row(i).maxCoeff(&arg);
    out[i] = static_cast<int>(arg);
  }
  return out;
}

Eigen::VectorXd Gmm::score_samples(const Eigen::MatrixXd& X) const {
  Eigen::MatrixXd lp = log_prob(X);
  return normalize_rows(lp);
}

double Gmm::score(const Eigen::MatrixXd& X) const { return score_samples(X).mean(); }

int Gmm::n_parameters() const { return gmm_n_parameters(cov, k(), d()); }

double Gmm::bic(const Eigen::MatrixXd& X) const {
  const double n = static_cast<double>(X.rows());
  return -2.0 * score(X) * n + n_parameters() * std::log(n);
}

double Gmm::aic(const Eigen::MatrixXd& X) const {
  return -2.0 * score(X) * static_cast<double>(X.rows()) + 2.0 * n_parameters();
}

Gmm fit_gmm(const Eigen::MatrixXd& X, const GmmConfig& cfg) {
  validate_points(X, "gmm");
  const Eigen::Index n = X.rows();
  if (cfg.k < 1) bad_input("gmm: expected k >= 1 components, got ", cfg.k);
  if (cfg.k > n) bad_input("gmm: k = ", cfg.k, " components but only n = ", n, " points; expected k <= n");
  if (!(cfg.reg_covar >= 0.0) || !std::isfinite(cfg.reg_covar))
    bad_input("gmm: expected reg_covar >= 0, got ", cfg.reg_covar);
  if (cfg.n_init < 1) bad_input("gmm: expected n_init >= 1, got ", cfg.n_init);
  if (cfg.max_iter < 0) bad_input("gmm: expected max_iter >= 0, got ", cfg.max_iter);
  if (!(cfg.tol >= 0.0)) bad_input("gmm: expected tol >= 0, got ", cfg.tol);

  const double neg_inf = -std::numeric_limits<double>::infinity();
  Gmm best;
  double best_bound = neg_inf;
  Eigen::MatrixXd resp(n, cfg.k);  // (n, k)
  for (int init = 0; init < cfg.n_init; ++init) {
    // Responsibilities from one k-means run (scikit-learn's init_params="kmeans" runs KMeans with n_init=1).
    KMeansResult km = kmeans(X, cfg.k, derive_seed(cfg.seed, init), 1, 300);
    resp.setZero();
    for (Eigen::Index i = 0; i < n; ++i) resp(i, km.labels[i]) = 1.0;
    Gmm g;
    g.cov = cfg.cov;
    m_step(X, resp, cfg.reg_covar, g);

    double bound = neg_inf;
    g.converged = false;
    g.n_iter = 0;
    for (int it = 1; it <= cfg.max_iter; ++it) {
      double prev = bound;
      Eigen::MatrixXd log_resp = log_gaussian(g, X);
      log_resp.rowwise() += g.weights.array().log().matrix().transpose();
      bound = normalize_rows(log_resp).mean();
      m_step(X, log_resp.array().exp().matrix(), cfg.reg_covar, g);
      g.n_iter = it;
      if (std::abs(bound - prev) < cfg.tol) {
        g.converged = true;
        break;
      }
    }
    g.lower_bound = bound;
    if (bound > best_bound || best_bound == neg_inf) {
      best_bound = bound;
      best = std::move(g);
    }
  }
  return best;
}

GmmSelection select_gmm(const Eigen::MatrixXd& X, int k_min, int k_max, const std::vector<Covariance>& covs, int n_init,
                        std::uint64_t seed, int threads) {
  GmmConfig base;
  base.n_init = n_init;
  base.seed = seed;
  return select_gmm(X, k_min, k_max, covs, base, threads);
}

GmmSelection select_gmm(const Eigen::MatrixXd& X, int k_min, int k_max, const std::vector<Covariance>& covs,
                        const GmmConfig& base, int threads) {
  const int n_init = base.n_init;
  const std::uint64_t seed = base.seed;
  validate_points(X, "select_gmm");
  const int n = static_cast<int>(X.rows());
  if (k_min < 1) bad_input("select_gmm: expected k_min >= 1, got ", k_min);
  if (k_max < k_min) bad_input("select_gmm: expected k_max >= k_min = ", k_min, ", got ", k_max);
  if (k_min > n) bad_input("select_gmm: k_min = ", k_min, " exceeds the number of points n = ", n);
  if (covs.empty()) bad_input("select_gmm: expected at least one covariance type");
  if (n_init < 1) bad_input("select_gmm: expected n_init >= 1, got ", n_init);
  const int k_hi = std::min(k_max, n);

  struct Cell {
    int k;
    Covariance cov;
  };
  std::vector<Cell> cells;
  for (int k = k_min; k <= k_hi; ++k)
    for (Covariance c : covs) cells.push_back({k, c});
  std::vector<std::optional<Gmm>> fits(cells.size());
  std::vector<double> bics(cells.size(), std::numeric_limits<double>::infinity());
  std::vector<std::exception_ptr> errors(cells.size());

  // Hand out the expensive cells (large k, full covariance) first so the pool stays balanced; each cell's result
  // depends only on its own seed, never on which worker ran it.
  std::vector<std::size_t> order(cells.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    auto cost = [&](const Cell& c) {
      int w = c.cov == Covariance::kFull ? 4 : c.cov == Covariance::kTied ? 2 : 1;
      return static_cast<long>(c.k) * w;
    };
    return cost(cells[a]) > cost(cells[b]);
  });

  ThreadPool pool(threads > 0 ? threads : default_threads());
  pool.parallel_for(order.size(), [&](std::size_t t) {
    const std::size_t i = order[t];
    GmmConfig cfg = base;
    cfg.k = cells[i].k;
    cfg.cov = cells[i].cov;
    cfg.seed = derive_seed(seed, cells[i].k, static_cast<int>(cells[i].cov));
    try {
      Gmm g = fit_gmm(X, cfg);
      double b = g.bic(X);
      if (std::isfinite(b)) bics[i] = b;
      fits[i] = std::move(g);
    } catch (const Error& e) {
      if (e.code() != ExitCode::kBadInput) throw;
      errors[i] = std::current_exception();  // ill-defined covariance: this cell is out of the running
    }
  });

  GmmSelection sel;
  std::size_t best = cells.size();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    sel.table.push_back({cells[i].k, cells[i].cov, bics[i]});
    if (fits[i] && std::isfinite(bics[i]) && (best == cells.size() || bics[i] < bics[best])) best = i;
  }
  if (best == cells.size()) {
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    bad_input("select_gmm: no (k, covariance) cell gave a finite BIC");
  }
  sel.best = std::move(*fits[best]);
  sel.k = cells[best].k;
  sel.cov = cells[best].cov;
  return sel;
}

}  // namespace strata::hier
