// Multinomial logistic regression: the loss and its gradient over the whole data set cost two GEMMs
// (logits = X W^T, gradient = (P - Y)^T X) on the raw features, with standardization folded into the weights
// so no standardized copy of X is made; L-BFGS (two-loop recursion, Armijo backtracking) drives the fit.
#include "strata/hier/logistic.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>

#include "strata/core/error.h"

namespace strata::hier {
namespace {

constexpr std::uint32_t kFormatVersion = 1;
constexpr int kHistory = 10;  // L-BFGS correction pairs

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// logits (n, k) = x (n, d) w^T + b, w: (k, d).
void linear(const float* x, std::size_t n, std::size_t d, const float* w, const float* b, int k, float* logits) {
  for (std::size_t i = 0; i < n; ++i) std::copy(b, b + k, logits + i * k);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), k, static_cast<int>(d), 1.0f, x,
              static_cast<int>(d), w, static_cast<int>(d), 1.0f, logits, k);
}

// The objective in the standardized parameterisation theta = [Ws (k, d) | b (k)], evaluated on raw x.
class Objective {
 public:
  Objective(const float* x, std::size_t n, std::size_t d, std::vector<int> yk, int k, std::vector<double> mean,
            std::vector<double> scale, double l2)
      : x_(x),
        n_(n),
        d_(d),
        y_(std::move(yk)),
        k_(k),
        mean_(std::move(mean)),
        scale_(std::move(scale)),
        l2_(l2),
        w_(static_cast<std::size_t>(k) * d),
        b_(k),
        logits_(n * k),
        gx_(static_cast<std::size_t>(k) * d) {}

  // Raw-unit weights and intercepts for theta: W' = Ws / s, b' = b - W' m.
  void raw(const std::vector<double>& theta, std::vector<float>& w, std::vector<float>& b) const {
    w.resize(static_cast<std::size_t>(k_) * d_);
    b.resize(k_);
    for (int c = 0; c < k_; ++c) {
      double shift = 0;
      for (std::size_t j = 0; j < d_; ++j) {
        const double wr = theta[c * d_ + j] / scale_[j];
        w[c * d_ + j] = static_cast<float>(wr);
        shift += wr * mean_[j];
      }
      b[c] = static_cast<float>(theta[k_ * d_ + c] - shift);
    }
  }

  double operator()(const std::vector<double>& theta, std::vector<double>& grad) {
    raw(theta, w_, b_);
    linear(x_, n_, d_, w_.data(), b_.data(), k_, logits_.data());
    double loss = 0;
    std::vector<double> colsum(k_, 0.0);
    for (std::size_t i = 0; i < n_; ++i) {
      float* z = logits_.data() + i * k_;  // becomes (P - Y) row i
      const double zmax = *std::max_element(z, z + k_);
      double s = 0;
      for (int c = 0; c < k_; ++c) s += std::exp(static_cast<double>(z[c]) - zmax);
      const double lse = zmax + std::log(s);
      loss += lse - z[y_[i]];
      for (int c = 0; c < k_; ++c) {
        const double g = std::exp(static_cast<double>(z[c]) - lse) - (c == y_[i] ? 1.0 : 0.0);
        z[c] = static_cast<float>(g);
        colsum[c] += g;
      }
    }
    // gx (k, d) = (P - Y)^T x
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k_, static_cast<int>(d_), static_cast<int>(n_), 1.0f,
                logits_.data(), k_, x_, static_cast<int>(d_), 0.0f, gx_.data(), static_cast<int>(d_));
    const double inv_n = 1.0 / static_cast<double>(n_);
    double penalty = 0;
    grad.resize(theta.size());
    for (int c = 0; c < k_; ++c) {
      for (std::size_t j = 0; j < d_; ++j) {
        const double t = theta[c * d_ + j];
        grad[c * d_ + j] = (gx_[c * d_ + j] - colsum[c] * mean_[j]) / scale_[j] * inv_n + l2_ * t;
        penalty += t * t;
      }
      grad[k_ * d_ + c] = colsum[c] * inv_n;
    }
    return loss * inv_n + 0.5 * l2_ * penalty;
  }

 private:
  const float* x_;
  std::size_t n_, d_;
  std::vector<int> y_;
  int k_;
  std::vector<double> mean_, scale_;
  double l2_;
  std::vector<float> w_, b_, logits_, gx_;  // w_: (k, d), logits_: (n, k), gx_: (k, d)
};

// Checks fit's arguments and labels; returns which of the n_classes classes occur in y.
std::vector<std::uint8_t> check_fit_inputs(const LogisticConfig& cfg, std::size_t n, std::size_t d,
                                           const std::int32_t* y, int n_classes) {
  if (n == 0 || d == 0) bad_input("logistic fit: expected a non-empty data set, got ", n, " rows x ", d, " features");
  if (n_classes < 1) bad_input("logistic fit: n_classes must be >= 1, got ", n_classes);
  if (!(cfg.l2 >= 0)) bad_input("logistic config: l2 must be >= 0, got ", cfg.l2);
  if (cfg.max_iter < 0) bad_input("logistic config: max_iter must be >= 0, got ", cfg.max_iter);
  if (n > static_cast<std::size_t>(INT32_MAX) || d > static_cast<std::size_t>(INT32_MAX))
    bad_input("logistic fit: at most 2^31-1 rows and features supported, got ", n, " x ", d);
  std::vector<std::uint8_t> present(n_classes, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= n_classes)
      bad_input("logistic fit: y[", i, "] = ", y[i], ", expected a class id in [0, ", n_classes, ")");
    present[y[i]] = 1;
  }
  return present;
}

// Per-feature mean and scale of the standardization (0 and 1 when it is off).
struct Scaling {
  std::vector<double> mean, scale;
};

// Checks that every feature is finite and, when standardize is on, computes each feature's mean and standard
// deviation (constant features keep scale 1).
Scaling feature_scaling(const float* x, std::size_t n, std::size_t d, bool standardize) {
  std::vector<double> mean(d, 0.0), scale(d, 1.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const float v = x[i * d + j];
      if (!std::isfinite(v)) bad_input("logistic fit: x[", i, ", ", j, "] = ", v, "; expected finite features");
      if (standardize) mean[j] += v;
    }
  if (standardize) {
    std::vector<double> var(d, 0.0);
    for (auto& m : mean) m /= static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        const double c = x[i * d + j] - mean[j];
        var[j] += c * c;
      }
    // Constant features keep scale 1: their weight gets no gradient beyond the penalty and stays 0.
    for (std::size_t j = 0; j < d; ++j) {
      const double sd = std::sqrt(var[j] / static_cast<double>(n));
      scale[j] = sd > 1e-12 ? sd : 1.0;
    }
  }
  return {std::move(mean), std::move(scale)};
}

// Class ids in [0, n_classes) to dense ids over the classes present (-1 for absent ones), and back.
struct ClassMap {
  std::vector<int> to_k, from_k;
};

// The dense numbering of the present classes, in class-id order.
ClassMap compact_classes(const std::vector<std::uint8_t>& present) {
  ClassMap m;
  m.to_k.assign(present.size(), -1);
  for (std::size_t c = 0; c < present.size(); ++c)
    if (present[c]) {
      m.to_k[c] = static_cast<int>(m.from_k.size());
      m.from_k.push_back(static_cast<int>(c));
    }
  return m;
}

// The last kHistory L-BFGS correction pairs (s, y) with rho = 1 / s.y, oldest first.
class LbfgsHistory {
 public:
  bool empty() const { return ss_.empty(); }

  void clear() {
    ss_.clear();
    ys_.clear();
    rhos_.clear();
  }

  // dir = -H grad by the two-loop recursion over the stored pairs (-grad when there are none).
  void direction(const std::vector<double>& grad, std::vector<double>& dir) const {
    for (std::size_t i = 0; i < dir.size(); ++i) dir[i] = -grad[i];
    std::vector<double> alpha(ss_.size());
    for (int m = static_cast<int>(ss_.size()) - 1; m >= 0; --m) {
      alpha[m] = rhos_[m] * dot(ss_[m], dir);
      for (std::size_t i = 0; i < dir.size(); ++i) dir[i] -= alpha[m] * ys_[m][i];
    }
    if (!ss_.empty()) {
      const double gamma = dot(ss_.back(), ys_.back()) / dot(ys_.back(), ys_.back());
      for (auto& v : dir) v *= gamma;
    }
    for (std::size_t m = 0; m < ss_.size(); ++m) {
      const double beta = rhos_[m] * dot(ys_[m], dir);
      for (std::size_t i = 0; i < dir.size(); ++i) dir[i] += (alpha[m] - beta) * ss_[m][i];
    }
  }

  // Records the step theta -> trial (gradients grad -> g_new) when its curvature s.y is safely positive.
  void add(const std::vector<double>& theta, const std::vector<double>& trial, const std::vector<double>& grad,
           const std::vector<double>& g_new) {
    std::vector<double> s(theta.size()), yv(theta.size());
    for (std::size_t i = 0; i < theta.size(); ++i) {
      s[i] = trial[i] - theta[i];
      yv[i] = g_new[i] - grad[i];
    }
    const double sy = dot(s, yv);
    if (sy > 1e-12 * std::sqrt(dot(s, s) * dot(yv, yv))) {
      ss_.push_back(std::move(s));
      ys_.push_back(std::move(yv));
      rhos_.push_back(1.0 / sy);
      if (static_cast<int>(ss_.size()) > kHistory) {
        ss_.pop_front();
        ys_.pop_front();
        rhos_.pop_front();
      }
    }
  }

 private:
  std::deque<std::vector<double>> ss_, ys_;
  std::deque<double> rhos_;
};

// Armijo backtracking along dir from theta (value f, directional slope < 0), starting at step and halving at most
// 40 times. On success trial, g_new and f_new hold the accepted point; false when no step decreases f enough.
bool backtrack(Objective& obj, const std::vector<double>& theta, const std::vector<double>& dir, double f, double slope,
               double step, std::vector<double>& trial, std::vector<double>& g_new, double& f_new) {
  for (int ls = 0; ls < 40; ++ls) {
    for (std::size_t i = 0; i < theta.size(); ++i) trial[i] = theta[i] + step * dir[i];
    f_new = obj(trial, g_new);
    if (std::isfinite(f_new) && f_new <= f + 1e-4 * step * slope) return true;
    step *= 0.5;
  }
  return false;
}

// L-BFGS from theta (grad and f: the objective's gradient and value there) until the largest gradient entry is
// <= tol, the relative decrease drops below tol * 1e-3, no step decreases f, or max_iter iterations. Leaves the
// solution in theta, grad and f; returns the iterations done.
int minimise_lbfgs(Objective& obj, std::vector<double>& theta, std::vector<double>& grad, double& f, int max_iter,
                   double tol) {
  LbfgsHistory history;
  std::vector<double> dir(theta.size()), trial(theta.size()), g_new;
  int iter = 0;
  for (; iter < max_iter; ++iter) {
    double gmax = 0;
    for (double g : grad) gmax = std::max(gmax, std::abs(g));
    if (gmax <= tol) break;
    history.direction(grad, dir);
    double slope = dot(grad, dir);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      history.clear();
      for (std::size_t i = 0; i < dir.size(); ++i) dir[i] = -grad[i];
      slope = dot(grad, dir);
    }
    const double step = history.empty() ? std::min(1.0, 1.0 / std::sqrt(dot(grad, grad))) : 1.0;
    double f_new = f;
    // No decrease representable at float precision: we are at the optimum.
    if (!backtrack(obj, theta, dir, f, slope, step, trial, g_new, f_new)) break;
    history.add(theta, trial, grad, g_new);
    const double rel = (f - f_new) / std::max({std::abs(f), std::abs(f_new), 1e-300});
    theta.swap(trial);
    grad.swap(g_new);
    f = f_new;
    if (rel < tol * 1e-3) {
      ++iter;
      break;
    }
  }
  return iter;
}

}  // namespace

void LogisticRegression::fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) {
  std::vector<std::uint8_t> present = check_fit_inputs(cfg_, n, d, y, n_classes);
  Scaling scaling = feature_scaling(x, n, d, cfg_.standardize);
  // Optimise over the classes that occur; the others get probability exactly 0.
  const ClassMap classes = compact_classes(present);
  const int k = static_cast<int>(classes.from_k.size());
  std::vector<int> yk(n);
  for (std::size_t i = 0; i < n; ++i) yk[i] = classes.to_k[y[i]];

  Objective obj(x, n, d, std::move(yk), k, std::move(scaling.mean), std::move(scaling.scale), cfg_.l2);
  std::vector<double> theta(static_cast<std::size_t>(k) * d + k, 0.0), grad;
  double f = obj(theta, grad);
  const int iter = k > 1 ? minimise_lbfgs(obj, theta, grad, f, cfg_.max_iter, cfg_.tol) : 0;
  std::vector<float> wk, bk;
  obj.raw(theta, wk, bk);
  w_.assign(static_cast<std::size_t>(n_classes) * d, 0.0f);
  b_.assign(n_classes, 0.0f);
  for (int c = 0; c < k; ++c) {
    std::copy(wk.begin() + c * d, wk.begin() + (c + 1) * d, w_.begin() + classes.from_k[c] * d);
    b_[classes.from_k[c]] = bk[c];
  }
  present_ = std::move(present);
  n_classes_ = n_classes;
  d_ = d;
  iterations_ = iter;
  loss_ = f;
}

void LogisticRegression::predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const {
  if (n_classes_ == 0) bad_input("logistic predict_proba: the model is not fitted");
  if (d != d_) bad_input("logistic predict_proba: expected ", d_, " features (as in fit), got ", d);
  const int k = n_classes_;
  if (n == 0) return;
  linear(x, n, d, w_.data(), b_.data(), k, proba);
  for (std::size_t i = 0; i < n; ++i) {
    float* z = proba + i * k;
    double zmax = -INFINITY;
    for (int c = 0; c < k; ++c)
      if (present_[c]) zmax = std::max(zmax, static_cast<double>(z[c]));
    double s = 0;
    for (int c = 0; c < k; ++c)
      if (present_[c]) s += std::exp(static_cast<double>(z[c]) - zmax);
    for (int c = 0; c < k; ++c)
      z[c] = present_[c] ? static_cast<float>(std::exp(static_cast<double>(z[c]) - zmax) / s) : 0.0f;
  }
}

void LogisticRegression::save(Writer& w) const {
  write_payload_header(w, kFormatVersion, n_classes_, d_);
  w.pod(cfg_.l2);
  w.pod(cfg_.max_iter);
  w.pod(cfg_.tol);
  w.pod<std::uint8_t>(cfg_.standardize);
  w.vec(w_);
  w.vec(b_);
  w.vec(present_);
}

void LogisticRegression::load(Reader& r) {
  const auto [n_classes, d] = read_payload_header(r, "logistic", kFormatVersion);
  LogisticConfig cfg = cfg_;
  cfg.l2 = r.pod<double>("logistic l2");
  cfg.max_iter = r.pod<int>("logistic max_iter");
  cfg.tol = r.pod<double>("logistic tol");
  cfg.standardize = r.pod<std::uint8_t>("logistic standardize") != 0;
  auto w = r.vec<float>("logistic weights");
  r.expect(w.size() == static_cast<std::size_t>(n_classes) * d,
           cat("logistic: expected ", static_cast<std::size_t>(n_classes) * d, " weights, found ", w.size()));
  auto b = r.vec<float>("logistic intercepts");
  r.expect(b.size() == static_cast<std::size_t>(n_classes),
           cat("logistic: expected ", n_classes, " intercepts, found ", b.size()));
  auto present = r.vec<std::uint8_t>("logistic class mask");
  r.expect(present.size() == static_cast<std::size_t>(n_classes) &&
               std::any_of(present.begin(), present.end(), [](std::uint8_t v) { return v != 0; }),
           cat("logistic: expected a class mask of ", n_classes, " entries with at least one class present"));
  cfg_ = cfg;
  n_classes_ = n_classes;
  d_ = d;
  w_ = std::move(w);
  b_ = std::move(b);
  present_ = std::move(present);
}

}  // namespace strata::hier
