// Fused AdamW and LAMB against scalar references, decoupled weight decay, gradient norms and clipping, independence
// of the thread count, and the Backend form (the CPU backend's update ops) bit-identical to the host form the EPS runs.
#include "strata/train/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/tensor.h"

namespace strata::train {
namespace {

struct Slab {
  std::vector<float> p, g, m, v;
};

Slab random_slab(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Slab s{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f)};
  for (std::size_t i = 0; i < n; ++i) {
    s.p[i] = static_cast<float>(rng.normal());
    s.g[i] = static_cast<float>(rng.normal() * 0.1);
  }
  return s;
}

// torch.optim.AdamW (PyTorch 1.13, single-tensor path) written out in double.
void torch_adamw_reference(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m,
                           std::vector<double>& v, const AdamWParams& hp, int step, double scale) {
  double bc1 = 1 - std::pow(double(hp.beta1), step), bc2 = 1 - std::pow(double(hp.beta2), step);
  for (std::size_t i = 0; i < p.size(); ++i) {
    double gi = g[i] * scale;
    p[i] *= 1 - double(hp.lr) * hp.weight_decay;
    m[i] = m[i] * hp.beta1 + (1 - double(hp.beta1)) * gi;
    v[i] = v[i] * hp.beta2 + (1 - double(hp.beta2)) * gi * gi;
    double denom = std::sqrt(v[i]) / std::sqrt(bc2) + hp.eps;
    p[i] -= double(hp.lr) / bc1 * m[i] / denom;
  }
}

TEST(AdamW, MatchesTorchFormulaOverSeveralSteps) {
  const std::size_t n = 70001;  // several blocks and a ragged tail
  Slab s = random_slab(n, 1);
  std::vector<double> p(s.p.begin(), s.p.end()), m(n, 0.0), v(n, 0.0);
  AdamWParams hp{2e-3f, 0.9f, 0.999f, 1e-8f, 0.05f};
  ThreadPool pool(2);
  Rng rng(9);
  for (int step = 1; step <= 6; ++step) {
    for (auto& x : s.g) x = static_cast<float>(rng.normal() * 0.1);  // a fresh gradient every step
    std::vector<double> g(s.g.begin(), s.g.end());
    adamw_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, step, 0.75f);
    torch_adamw_reference(p, g, m, v, hp, step, double(0.75f));
  }
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_NEAR(s.p[i], p[i], 1e-6 * std::fabs(p[i]) + 1e-7) << i;
    ASSERT_NEAR(s.m[i], m[i], 1e-5 * std::fabs(m[i]) + 1e-8) << i;  // m cancels: absolute floor vs |g| ~ 0.1
    ASSERT_NEAR(s.v[i], v[i], 1e-5 * std::fabs(v[i]) + 1e-12) << i;
  }
}

TEST(AdamW, WeightDecayIsDecoupled) {
  // Zero gradient and zero moments: the Adam part is 0/eps = 0, so only p *= 1 - lr*wd remains. (L2-style decay
  // would feed wd*p into the moments and move p by about lr, far more.)
  const std::size_t n = 1000;
  Slab s = random_slab(n, 2);
  std::fill(s.g.begin(), s.g.end(), 0.0f);
  std::vector<float> p0 = s.p;
  ThreadPool pool(1);
  AdamWParams hp{0.1f, 0.9f, 0.999f, 1e-8f, 0.5f};
  adamw_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, 1);
  for (std::size_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(s.p[i], p0[i] * 0.95f);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(s.m[i], 0.0f);
  // Without decay the same step leaves p unchanged.
  hp.weight_decay = 0.0f;
  std::vector<float> p1 = s.p;
  adamw_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, 2);
  EXPECT_EQ(s.p, p1);
}

TEST(AdamW, GradScaleAndBf16Copy) {
  const std::size_t n = 4099;
  Slab a = random_slab(n, 3), b = a;
  for (auto& x : b.g) x *= 0.25f;
  ThreadPool pool(2);
  AdamWParams hp;
  std::vector<std::uint16_t> bf(n);
  adamw_step(pool, a.p.data(), a.g.data(), a.m.data(), a.v.data(), n, hp, 3, 0.25f, bf.data());
  adamw_step(pool, b.p.data(), b.g.data(), b.m.data(), b.v.data(), n, hp, 3, 1.0f);
  EXPECT_EQ(a.p, b.p);  // scaling inside the step is the same as scaling the gradient first
  EXPECT_EQ(a.v, b.v);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(bf[i], f32_to_bf16(a.p[i])) << i;
  EXPECT_THROW(adamw_step(pool, a.p.data(), a.g.data(), a.m.data(), a.v.data(), n, hp, 0), Error);
}

TEST(AdamW, IdenticalForAnyThreadCount) {
  const std::size_t n = 3 * 32768 + 13;
  Slab ref = random_slab(n, 4);
  AdamWParams hp{1e-3f, 0.9f, 0.98f, 1e-6f, 0.01f};
  Slab base = ref;
  {
    ThreadPool one(1);
    for (int step = 1; step <= 3; ++step)
      adamw_step(one, base.p.data(), base.g.data(), base.m.data(), base.v.data(), n, hp, step);
  }
  for (int threads : {2, 3, 5}) {
    Slab s = ref;
    ThreadPool pool(threads);
    for (int step = 1; step <= 3; ++step) adamw_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, step);
    EXPECT_EQ(std::memcmp(s.p.data(), base.p.data(), n * 4), 0) << threads << " threads";
    EXPECT_EQ(std::memcmp(s.v.data(), base.v.data(), n * 4), 0) << threads << " threads";
  }
}

TEST(Lamb, TrustRatioPerSegmentByHand) {
  // Slab: [seg A: p=(3,4) g=(1,-1)] [gap] [seg B: p=(0,0) g=(2,0)] [seg C: p=(1,2) g=0].
  std::vector<float> p = {3, 4, 7, 0, 0, 1, 2}, g = {1, -1, 5, 2, 0, 0, 0}, m(7, 0.0f), v(7, 0.0f);
  std::vector<Segment> segs = {{0, 2}, {3, 2}, {5, 2}};
  LambParams hp{0.1f, 0.9f, 0.999f, 1e-6f, 0.01f, true};
  ThreadPool pool(2);
  lamb_step(pool, p.data(), g.data(), m.data(), v.data(), 7, hp, 1, segs);
  // Step 1 with bias correction: m_hat = g, v_hat = g^2, so u = g / (|g| + eps) + wd * p.
  const double eps = 1e-6, wd = 0.01, lr = 0.1;
  double uA0 = 1 / (1 + eps) + wd * 3, uA1 = -1 / (1 + eps) + wd * 4;
  double rA = 5.0 / std::hypot(uA0, uA1);
  EXPECT_NEAR(p[0], 3 - lr * rA * uA0, 1e-5);
  EXPECT_NEAR(p[1], 4 - lr * rA * uA1, 1e-5);
  EXPECT_EQ(p[2], 7.0f);  // outside every segment: untouched
  EXPECT_EQ(m[2], 0.0f);
  // ||p|| = 0: ratio 1.
  EXPECT_NEAR(p[3], -lr * (2 / (2 + eps)), 1e-6);
  EXPECT_NEAR(p[4], 0.0, 1e-12);
  // Zero gradient: u = wd * p, ratio ||p|| / ||wd p|| = 1/wd, so p -= lr * p.
  EXPECT_NEAR(p[5], 1 * (1 - lr), 1e-6);
  EXPECT_NEAR(p[6], 2 * (1 - lr), 1e-6);
  EXPECT_NEAR(m[0], 0.1, 1e-7);
  EXPECT_NEAR(v[0], 0.001, 2e-8);  // 1 - beta2 rounded to float
}

// The vectorised body and the scalar tail against a double reference on ragged segments, over two steps.
TEST(Lamb, MatchesReferenceOnRaggedSegments) {
  const std::size_t n = 1003;
  Slab s = random_slab(n, 12);
  std::vector<Segment> segs = {{0, 517}, {517, 3}, {530, 473}};
  LambParams hp{0.01f, 0.9f, 0.999f, 1e-6f, 0.02f, true};
  std::vector<double> p(s.p.begin(), s.p.end()), g(s.g.begin(), s.g.end()), m(n, 0.0), v(n, 0.0);
  ThreadPool pool(2);
  for (int step = 1; step <= 2; ++step) {
    lamb_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, step, segs, 2.0f);
    double bc1 = 1 - std::pow(double(hp.beta1), step), bc2 = 1 - std::pow(double(hp.beta2), step);
    for (const Segment& sg : segs) {
      std::vector<double> u(sg.size);
      double pn = 0, un = 0;
      for (std::size_t j = 0; j < sg.size; ++j) {
        std::size_t i = sg.offset + j;
        double gi = 2.0 * g[i];
        m[i] = hp.beta1 * m[i] + (1 - double(hp.beta1)) * gi;
        v[i] = hp.beta2 * v[i] + (1 - double(hp.beta2)) * gi * gi;
        u[j] = (m[i] / bc1) / (std::sqrt(v[i] / bc2) + hp.eps) + hp.weight_decay * p[i];
        pn += p[i] * p[i];
        un += u[j] * u[j];
      }
      double r = std::sqrt(pn) / std::sqrt(un);
      for (std::size_t j = 0; j < sg.size; ++j) p[sg.offset + j] -= hp.lr * r * u[j];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= 520 && i < 530) {
      ASSERT_EQ(s.m[i], 0.0f) << i;  // the gap between segments is untouched
      continue;
    }
    ASSERT_NEAR(s.p[i], p[i], 2e-6 * std::fabs(p[i]) + 1e-7) << i;
  }
}

TEST(Lamb, WholeSlabRatioWhenNoSegments) {
  std::vector<float> p = {3, 0, 0, 4}, g = {1, 1, 1, 1}, m(4, 0.0f), v(4, 0.0f);
  LambParams hp{0.1f, 0.9f, 0.999f, 0.0f, 0.0f, true};
  ThreadPool pool(1);
  lamb_step(pool, p.data(), g.data(), m.data(), v.data(), 4, hp, 1);
  // u = (1,1,1,1), ||u|| = 2, ||p|| = 5: every element moves by lr * 2.5.
  EXPECT_NEAR(p[0], 3 - 0.25, 1e-6);
  EXPECT_NEAR(p[1], -0.25, 1e-6);
  EXPECT_NEAR(p[3], 4 - 0.25, 1e-6);
  std::vector<Segment> bad = {{2, 2}, {0, 1}};
  EXPECT_THROW(lamb_step(pool, p.data(), g.data(), m.data(), v.data(), 4, hp, 2, bad), Error);
  std::vector<Segment> outside = {{3, 2}};
  EXPECT_THROW(lamb_step(pool, p.data(), g.data(), m.data(), v.data(), 4, hp, 2, outside), Error);
}

TEST(Lamb, IdenticalForAnyThreadCount) {
  const std::size_t n = 300001;
  Slab ref = random_slab(n, 6);
  std::vector<Segment> segs = {{0, 1000}, {1000, 149000}, {150000, 7}, {150100, 149901}};
  LambParams hp;
  std::vector<Slab> out;
  for (int threads : {1, 2, 3}) {
    Slab s = ref;
    ThreadPool pool(threads);
    std::vector<std::uint16_t> bf(n);
    for (int step = 1; step <= 2; ++step)
      lamb_step(pool, s.p.data(), s.g.data(), s.m.data(), s.v.data(), n, hp, step, segs, 0.5f, bf.data());
    EXPECT_EQ(bf[n - 1], f32_to_bf16(s.p[n - 1]));
    out.push_back(std::move(s));
  }
  for (std::size_t t = 1; t < out.size(); ++t) {
    EXPECT_EQ(std::memcmp(out[t].p.data(), out[0].p.data(), n * 4), 0);
    EXPECT_EQ(std::memcmp(out[t].m.data(), out[0].m.data(), n * 4), 0);
  }
}

TEST(GradNorm, MatchesDoubleSumAndIgnoresThreads) {
  Slab a = random_slab(200003, 7), b = random_slab(17, 8);
  double ref = 0;
  for (float x : a.g) ref += double(x) * x;
  for (float x : b.g) ref += double(x) * x;
  ref = std::sqrt(ref);
  std::vector<GradSpan> spans = {{a.g.data(), a.g.size()}, {b.g.data(), b.g.size()}, {nullptr, 0}};
  ThreadPool one(1), three(3);
  double n1 = global_grad_norm(one, spans), n3 = global_grad_norm(three, spans);
  EXPECT_NEAR(n1, ref, 1e-12 * ref);
  EXPECT_EQ(n1, n3);
  EXPECT_NEAR(sum_squares(three, b.g.data(), b.g.size()), std::pow(global_grad_norm(one, {spans.data() + 1, 1}), 2),
              1e-12);
}

TEST(GradNorm, ClipFactorAsTorch) {
  EXPECT_FLOAT_EQ(clip_factor(10.0, 1.0), static_cast<float>(1.0 / (10.0 + 1e-6)));
  EXPECT_EQ(clip_factor(0.5, 1.0), 1.0f);
  EXPECT_EQ(clip_factor(100.0, 0.0), 1.0f);  // clipping off
  EXPECT_TRUE(std::isnan(clip_factor(INFINITY, 1.0)));
  // Clipping then stepping equals stepping on pre-clipped gradients.
  std::vector<float> g = {3, 4};
  ThreadPool pool(1);
  std::vector<GradSpan> spans = {{g.data(), 2}};
  double norm = global_grad_norm(pool, spans);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  float f = clip_factor(norm, 1.0);
  EXPECT_NEAR(g[0] * f, 0.6, 1e-6);
}

// The baseline executor moves from optimizer_step(pool, ...) to optimizer_step(backend, ...): on the CPU backend the
// parameters, moments, bf16 copy and norms must not change by a bit.
TEST(OptimizerStep, CpuBackendFormIsBitIdenticalToHostForm) {
  const std::size_t n = 40003;
  auto be = backend::make_backend("cpu", backend::BackendOptions{2});
  ThreadPool pool(3);
  for (const char* name : {"adamw", "lamb"}) {
    OptimConfig c;
    c.name = name;
    Slab a = random_slab(n, 5), b = random_slab(n, 5);
    std::vector<std::uint16_t> abf(n), bbf(n);
    for (int step = 1; step <= 3; ++step) {
      optimizer_step(pool, c, a.p.data(), a.g.data(), a.m.data(), a.v.data(), n, 1e-3, step, 0.5f, abf.data());
      optimizer_step(*be, c, b.p.data(), b.g.data(), b.m.data(), b.v.data(), n, 1e-3, step, 0.5f, bbf.data());
    }
    EXPECT_EQ(0, std::memcmp(a.p.data(), b.p.data(), n * sizeof(float))) << name;
    EXPECT_EQ(0, std::memcmp(a.m.data(), b.m.data(), n * sizeof(float))) << name;
    EXPECT_EQ(0, std::memcmp(a.v.data(), b.v.data(), n * sizeof(float))) << name;
    EXPECT_EQ(abf, bbf) << name;
  }
  Slab g = random_slab(n, 6);
  const GradSpan spans[] = {{g.g.data(), n}, {g.p.data(), 17}};
  EXPECT_EQ(be->global_grad_norm(spans), global_grad_norm(pool, spans));
  EXPECT_EQ(be->sum_squares(g.g.data(), n), sum_squares(pool, g.g.data(), n));
}

}  // namespace
}  // namespace strata::train
