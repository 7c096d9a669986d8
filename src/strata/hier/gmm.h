// Gaussian mixture models fitted by EM exactly as scikit-learn's GaussianMixture (init_params="kmeans"), and
// BIC model selection over a grid of component counts and covariance types, run in parallel with results that
// do not depend on the thread count.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace strata::hier {

enum class Covariance { kSpherical, kDiag, kTied, kFull };

// "spherical" | "diag" | "tied" | "full"; anything else throws bad_input listing the choices.
Covariance parse_covariance(const std::string& name);
const char* covariance_name(Covariance c);

struct GmmConfig {
  int k = 1;  // components, 1 <= k <= n
  Covariance cov = Covariance::kFull;
  double reg_covar = 1e-6;  // added to the covariance diagonal (keeps duplicates finite)
  int n_init = 1;           // restarts; the best lower bound wins
  int max_iter = 100;       // EM iterations per restart (0: keep the k-means initialisation)
  double tol = 1e-3;        // stop when the mean log-likelihood changes by less than this
  std::uint64_t seed = 0;
};

// A fitted mixture. Covariance parameters are shaped as scikit-learn shapes them.
struct Gmm {
  Covariance cov = Covariance::kFull;
  Eigen::VectorXd weights;                   // (k) mixing proportions, sum 1
  Eigen::MatrixXd means;                     // (k, d)
  std::vector<Eigen::MatrixXd> covariances;  // full: k of (d, d); tied: 1 of (d, d); otherwise empty
  Eigen::MatrixXd variances;                 // diag: (k, d); spherical: (k, 1); otherwise empty
  // Cholesky factors of the precision matrices, upper triangular U with precision = U U^T (scikit-learn's
  // precisions_cholesky_): full k of (d, d), tied 1 of (d, d); diag / spherical: 1/sqrt(variance), same shape as
  // `variances`.
  std::vector<Eigen::MatrixXd> precisions_cholesky;
  Eigen::MatrixXd precisions_cholesky_diag;
  double lower_bound = -std::numeric_limits<double>::infinity();  // mean log-likelihood per sample at the last E step
  int n_iter = 0;                                                 // EM iterations of the kept restart
  bool converged = false;

  int k() const { return static_cast<int>(weights.size()); }
  int d() const { return static_cast<int>(means.cols()); }
  Eigen::MatrixXd covariance(int j) const;  // (d, d) covariance of component j, whatever the type

  // All take X: (n, d) and throw bad_input if d differs from the fitted dimension or X is not finite.
  Eigen::MatrixXd log_prob(const Eigen::MatrixXd& X) const;       // (n, k): log w_j + log N(x | mu_j, Sigma_j)
  Eigen::MatrixXd predict_proba(const Eigen::MatrixXd& X) const;  // (n, k) responsibilities, rows sum to 1
  std::vector<int> predict(const Eigen::MatrixXd& X) const;       // (n) most probable component
  Eigen::VectorXd score_samples(const Eigen::MatrixXd& X) const;  // (n) log p(x)
  double score(const Eigen::MatrixXd& X) const;                   // mean log p(x)
  double bic(const Eigen::MatrixXd& X) const;                     // -2 n score + p ln n
  double aic(const Eigen::MatrixXd& X) const;                     // -2 n score + 2 p
  int n_parameters() const;                                       // free parameters p (as scikit-learn counts)
};

// Free parameters of a k-component mixture in d dimensions: covariance parameters (full k d(d+1)/2, tied d(d+1)/2,
// diag k d, spherical k) + means k d + weights k - 1.
int gmm_n_parameters(Covariance cov, int k, int d);

// EM from k-means responsibilities (k-means++ seeding + Lloyd, one k-means run per restart). Throws bad_input when
// k is outside [1, n], X is empty or not finite, or a configuration value is out of range, and when a covariance
// becomes ill-defined (not positive definite: increase reg_covar, lower k, or rescale X).
Gmm fit_gmm(const Eigen::MatrixXd& X, const GmmConfig& cfg);

struct GmmSelection {
  Gmm best;
  int k = 0;
  Covariance cov = Covariance::kFull;
  struct Row {
    int k;
    Covariance cov;
    double bic;  // +infinity where the fit failed (ill-defined covariance)
  };
  std::vector<Row> table;  // every (k, cov) cell, k ascending then in the order of `covs`
};

// Fits every k in [k_min, min(k_max, n)] with every covariance type (n_init restarts each, other settings as
// GmmConfig's defaults) and keeps the lowest BIC (ties: the first cell in table order). Cell (k, cov) is seeded with
// derive_seed(seed, k, cov), and cells run on a thread pool (threads = 0: default_threads()), so the result does not
// depend on the thread count. Throws bad_input on an empty grid or when every cell fails.
GmmSelection select_gmm(const Eigen::MatrixXd& X, int k_min, int k_max, const std::vector<Covariance>& covs, int n_init,
                        std::uint64_t seed, int threads = 0);
// The same with every fit's settings (reg_covar, max_iter, tol, n_init, seed) taken from `base`; base.k and
// base.cov are ignored.
GmmSelection select_gmm(const Eigen::MatrixXd& X, int k_min, int k_max, const std::vector<Covariance>& covs,
                        const GmmConfig& base, int threads = 0);

}  // namespace strata::hier
