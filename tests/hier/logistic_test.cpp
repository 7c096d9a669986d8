// Tests of strata::hier::LogisticRegression: recovery of a linear separator, the optimality condition at the
// returned solution (with and without standardization), probabilities, absent classes, save/load, bad input.
#include "strata/hier/logistic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

struct Data {
  std::size_t n = 0, d = 0;
  std::vector<float> x;  // (n, d)
  std::vector<std::int32_t> y;
};

std::vector<float> proba(const LogisticRegression& m, const Data& data) {
  std::vector<float> p(data.n * m.num_classes());
  m.predict_proba(data.x.data(), data.n, data.d, p.data());
  return p;
}

// Gradient of (1/n) sum -log softmax + l2/2 sum_cj (W_cj s_j)^2 with respect to the raw-unit (W, b), computed
// independently of the implementation in double. s_j = 1 without standardization, the feature's population
// standard deviation with it (the penalty lives on standardized weights Ws = W * s).
std::vector<double> raw_gradient(const LogisticRegression& m, const Data& data, double l2, bool standardize) {
  const int k = m.num_classes();
  const std::size_t d = data.d;
  std::vector<double> s(d, 1.0);
  if (standardize) {
    for (std::size_t j = 0; j < d; ++j) {
      double mu = 0, var = 0;
      for (std::size_t i = 0; i < data.n; ++i) mu += data.x[i * d + j];
      mu /= data.n;
      for (std::size_t i = 0; i < data.n; ++i) var += (data.x[i * d + j] - mu) * (data.x[i * d + j] - mu);
      s[j] = std::sqrt(var / data.n);
    }
  }
  const auto& w = m.weights();
  const auto& b = m.intercepts();
  std::vector<double> g(k * d + k, 0.0);
  for (std::size_t i = 0; i < data.n; ++i) {
    std::vector<double> z(k);
    for (int c = 0; c < k; ++c) {
      z[c] = b[c];
      for (std::size_t j = 0; j < d; ++j) z[c] += static_cast<double>(w[c * d + j]) * data.x[i * d + j];
    }
    const double zmax = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double v : z) sum += std::exp(v - zmax);
    for (int c = 0; c < k; ++c) {
      const double r = std::exp(z[c] - zmax) / sum - (data.y[i] == c ? 1.0 : 0.0);
      for (std::size_t j = 0; j < d; ++j) g[c * d + j] += r * data.x[i * d + j] / data.n;
      g[k * d + c] += r / data.n;
    }
  }
  for (int c = 0; c < k; ++c)
    for (std::size_t j = 0; j < d; ++j) g[c * d + j] += l2 * w[c * d + j] * s[j] * s[j];
  return g;
}

// Three noisy overlapping classes in 3 features with different scales and offsets.
Data noisy(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Data data{n, 3, std::vector<float>(n * 3), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng.below(3));
    data.y[i] = c;
    data.x[i * 3 + 0] = static_cast<float>(rng.normal() + 0.8 * c);
    data.x[i * 3 + 1] = static_cast<float>(10.0 * rng.normal() + 5.0 * (c == 1) + 20.0);
    data.x[i * 3 + 2] = static_cast<float>(0.1 * rng.normal() - 0.05 * c);
  }
  return data;
}

TEST(LogisticRegression, RecoversALinearSeparator) {
  // Labels by the sign of 2 x0 - x1 + 0.5 with a margin; the fitted decision direction must match.
  Rng rng(1);
  Data data{0, 2, {}, {}};
  while (data.n < 600) {
    const double a = 4 * rng.uniform() - 2, b = 4 * rng.uniform() - 2, m = 2 * a - b + 0.5;
    if (std::abs(m) < 0.3) continue;
    data.x.push_back(static_cast<float>(a));
    data.x.push_back(static_cast<float>(b));
    data.y.push_back(m > 0);
    ++data.n;
  }
  LogisticConfig cfg;
  cfg.l2 = 1e-4;
  LogisticRegression lr(cfg);
  lr.fit(data.x.data(), data.n, data.d, data.y.data(), 2);
  const auto p = proba(lr, data);
  for (std::size_t i = 0; i < data.n; ++i) EXPECT_EQ(p[i * 2 + 1] > 0.5f, data.y[i] == 1) << i;
  const auto& w = lr.weights();
  const double u0 = w[2] - w[0], u1 = w[3] - w[1], ub = lr.intercepts()[1] - lr.intercepts()[0];
  const double cosine = (2 * u0 - u1) / (std::sqrt(5.0) * std::hypot(u0, u1));
  EXPECT_GT(cosine, 0.99);
  EXPECT_NEAR(ub / u0, 0.25, 0.1);  // the offset relative to the x0 weight: 0.5 / 2
}

TEST(LogisticRegression, GradientVanishesAtTheSolution) {
  const Data data = noisy(200, 2);
  for (bool standardize : {false, true}) {
    LogisticConfig cfg;
    cfg.l2 = 0.05;
    cfg.standardize = standardize;
    cfg.max_iter = 1000;
    cfg.tol = 1e-10;
    LogisticRegression lr(cfg);
    lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
    const auto g = raw_gradient(lr, data, cfg.l2, standardize);
    double gmax = 0;
    for (double v : g) gmax = std::max(gmax, std::abs(v));
    EXPECT_LT(gmax, 2e-4) << "standardize " << standardize << " after " << lr.iterations() << " iterations";
    // A solution that is far from the start: the optimum is not the zero model.
    EXPECT_LT(lr.final_loss(), std::log(3.0) - 0.1);
  }
}

TEST(LogisticRegression, ProbabilitiesSumToOneAndAbsentClassesAreZero) {
  Data data = noisy(300, 3);
  for (auto& c : data.y) c = c == 1 ? 3 : c;  // classes 0, 2, 3 of 4
  LogisticRegression lr;
  lr.fit(data.x.data(), data.n, data.d, data.y.data(), 4);
  ASSERT_EQ(lr.num_classes(), 4);
  const auto p = proba(lr, data);
  for (std::size_t i = 0; i < data.n; ++i) {
    EXPECT_EQ(p[i * 4 + 1], 0.0f);
    double s = 0;
    for (int c = 0; c < 4; ++c) {
      EXPECT_GE(p[i * 4 + c], 0.0f);
      s += p[i * 4 + c];
    }
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

TEST(LogisticRegression, SingleClassPredictsIt) {
  Data data = noisy(50, 4);
  std::fill(data.y.begin(), data.y.end(), 1);
  LogisticRegression lr;
  lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
  const auto p = proba(lr, data);
  for (std::size_t i = 0; i < data.n; ++i) EXPECT_EQ(p[i * 3 + 1], 1.0f);
}

TEST(LogisticRegression, DeterministicFit) {
  const Data data = noisy(300, 5);
  LogisticRegression a, b;
  a.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
  b.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
  EXPECT_EQ(a.weights(), b.weights());
  EXPECT_EQ(a.intercepts(), b.intercepts());
}

TEST(LogisticRegression, SaveLoadIsBitIdentical) {
  const Data data = noisy(300, 6);
  LogisticRegression lr;
  lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
  Writer w;
  save_classifier(lr, w);
  Reader r(w.bytes(), "logistic.bin");
  const auto loaded = load_classifier(r);
  EXPECT_TRUE(r.done());
  ASSERT_EQ(loaded->kind(), "logistic");
  std::vector<float> p(data.n * 3);
  loaded->predict_proba(data.x.data(), data.n, data.d, p.data());
  EXPECT_EQ(p, proba(lr, data));
  for (std::size_t cut = 0; cut < w.bytes().size(); cut += 7) {
    const std::string part = w.bytes().substr(0, cut);
    Reader rc(part, "logistic.bin");
    EXPECT_THROW(load_classifier(rc), Error) << cut;
  }
}

TEST(LogisticRegression, BadInputIsReported) {
  Data data = noisy(30, 7);
  LogisticRegression lr;
  std::vector<float> p(3);
  EXPECT_THROW(lr.predict_proba(data.x.data(), 1, 3, p.data()), Error);
  data.y[3] = -1;
  EXPECT_THROW(lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3), Error);
  data.y[3] = 0;
  data.x[4] = INFINITY;
  EXPECT_THROW(lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3), Error);
  data.x[4] = 0;
  lr.fit(data.x.data(), data.n, data.d, data.y.data(), 3);
  EXPECT_THROW(lr.predict_proba(data.x.data(), 1, 2, p.data()), Error);
}

}  // namespace
}  // namespace strata::hier
