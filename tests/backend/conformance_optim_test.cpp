// Conformance of a backend's optimizer and norm operations through Backend&: AdamW and LAMB (per-segment trust
// ratios, elements outside every segment untouched, gradient scale, the bf16 copy of the result) over several steps,
// and the sum of squares / global gradient norm, against the formulas of backend/host_optim.h written out in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "conformance.h"
#include "strata/core/tensor.h"

namespace strata::backend::conformance {
namespace {

class OptimConformance : public Conformance {};

struct RefSlab {
  std::vector<double> p, m, v;
};

void ref_adamw(RefSlab& s, const std::vector<float>& g, const AdamWParams& hp, int step, double scale) {
  const double bc1 = 1 - std::pow(double(hp.beta1), step), bc2 = 1 - std::pow(double(hp.beta2), step);
  for (std::size_t i = 0; i < s.p.size(); ++i) {
    const double gi = g[i] * scale;
    s.p[i] *= 1 - double(hp.lr) * hp.weight_decay;
    s.m[i] = s.m[i] * hp.beta1 + (1 - double(hp.beta1)) * gi;
    s.v[i] = s.v[i] * hp.beta2 + (1 - double(hp.beta2)) * gi * gi;
    s.p[i] -= double(hp.lr) / bc1 * s.m[i] / (std::sqrt(s.v[i]) / std::sqrt(bc2) + hp.eps);
  }
}

void ref_lamb(RefSlab& s, const std::vector<float>& g, const LambParams& hp, int step, double scale,
              const std::vector<Segment>& segs) {
  const double bc1 = 1 - std::pow(double(hp.beta1), step), bc2 = 1 - std::pow(double(hp.beta2), step);
  for (const Segment& sg : segs) {
    std::vector<double> u(sg.size);
    double pn = 0.0, un = 0.0;
    for (std::size_t j = 0; j < sg.size; ++j) {
      const std::size_t i = sg.offset + j;
      const double gi = g[i] * scale;
      s.m[i] = s.m[i] * hp.beta1 + (1 - double(hp.beta1)) * gi;
      s.v[i] = s.v[i] * hp.beta2 + (1 - double(hp.beta2)) * gi * gi;
      u[j] = (s.m[i] / bc1) / (std::sqrt(s.v[i] / bc2) + hp.eps) + double(hp.weight_decay) * s.p[i];
      pn += s.p[i] * s.p[i];
      un += u[j] * u[j];
    }
    const double r = pn > 0 && un > 0 ? std::sqrt(pn) / std::sqrt(un) : 1.0;
    for (std::size_t j = 0; j < sg.size; ++j) s.p[sg.offset + j] -= double(hp.lr) * r * u[j];
  }
}

// Three steps of an update op on device-resident slabs against its reference; the whole slab (including elements a
// segment list leaves out) must match, and the bf16 copy must be the rounding of the new p inside the segments and
// untouched (still the 0xFFFF poison) outside them.
template <typename Op, typename Ref>
void check_steps(Backend& be, const std::string& name, std::size_t n, Op op, Ref ref,
                 const std::vector<Segment>& segs = {}) {
  const std::vector<float> p0 = randn(n, 1), zeros(n, 0.0f);
  F32 p(be, p0, Role::kInOut, name + " p"), m(be, zeros, Role::kInOut, name + " m"),
      v(be, zeros, Role::kInOut, name + " v");
  DevArray<std::uint16_t> bf(be, n, name + " bf16 copy");
  RefSlab r{widen(p0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (int step = 1; step <= 3; ++step) {
    const std::vector<float> g = randn(n, 10 + step, 0.1);
    F32 dg(be, g, Role::kInput, name + " g");
    op(p.get(), dg.get(), m.get(), v.get(), step, step == 3 ? bf.get() : nullptr);
    ref(r, g, step);
  }
  const std::vector<float> got = p.read();
  EXPECT_TRUE(nmse_below(name + " p", got, r.p, kElementwise));
  EXPECT_TRUE(nmse_below(name + " m", m.read(), r.m, kElementwise));
  EXPECT_TRUE(nmse_below(name + " v", v.read(), r.v, kElementwise));
  const std::vector<std::uint16_t> h = bf.read();
  std::size_t mismatched = 0;
  std::vector<char> inside(n, segs.empty() ? 1 : 0);
  for (const Segment& sg : segs) std::fill(inside.begin() + sg.offset, inside.begin() + sg.offset + sg.size, 1);
  for (std::size_t i = 0; i < n; ++i) mismatched += h[i] != (inside[i] ? f32_to_bf16(got[i]) : std::uint16_t{0xFFFF});
  EXPECT_EQ(mismatched, 0u) << name << ": the bf16 copy is not the rounding of the updated p where p was updated";
}

TEST_P(OptimConformance, AdamWMatchesTorchFormula) {
  const AdamWParams hp{2e-3f, 0.9f, 0.999f, 1e-8f, 0.05f};
  for (const std::size_t n : {std::size_t{37}, std::size_t{70001}}) {
    check_steps(
        be(), "adamw n=" + std::to_string(n), n,
        [&](float* p, const float* g, float* m, float* v, int step, std::uint16_t* bf) {
          be().adamw_step(p, g, m, v, n, hp, step, 0.75f, bf);
        },
        [&](RefSlab& r, const std::vector<float>& g, int step) { ref_adamw(r, g, hp, step, 0.75); });
  }
}

TEST_P(OptimConformance, LambTrustRatioPerSegmentLeavesGapsUntouched) {
  const LambParams hp{1e-2f, 0.9f, 0.999f, 1e-6f, 0.01f, true};
  const std::size_t n = 70001;
  const std::vector<Segment> segs = {{3, 100}, {103, 40000}, {40200, 29000}};  // gaps: [0,3), [40103,40200), tail
  check_steps(
      be(), "lamb segments", n,
      [&](float* p, const float* g, float* m, float* v, int step, std::uint16_t* bf) {
        be().lamb_step(p, g, m, v, n, hp, step, segs, 0.5f, bf);
      },
      [&](RefSlab& r, const std::vector<float>& g, int step) { ref_lamb(r, g, hp, step, 0.5, segs); }, segs);
  const std::vector<Segment> whole = {{0, 301}};
  check_steps(
      be(), "lamb whole slab", 301,
      [&](float* p, const float* g, float* m, float* v, int step, std::uint16_t* bf) {
        be().lamb_step(p, g, m, v, 301, hp, step, {}, 1.0f, bf);
      },
      [&](RefSlab& r, const std::vector<float>& g, int step) { ref_lamb(r, g, hp, step, 1.0, whole); });
}

TEST_P(OptimConformance, SumOfSquaresAndGlobalNorm) {
  const std::vector<float> a = randn(70001, 1), b = randn(13, 2, 10.0), c = randn(1 << 17, 3, 0.01);
  F32 da(be(), a, Role::kInput, "a"), db(be(), b, Role::kInput, "b"), dc(be(), c, Role::kInput, "c");
  auto ss = [](const std::vector<float>& x) {
    double s = 0.0;
    for (float f : x) s += double(f) * f;
    return s;
  };
  auto nmse = [](double got, double ref) { return (got - ref) * (got - ref) / (ref * ref); };  // NaN fails below
  const double sa = ss(a), total = ss(a) + ss(b) + ss(c);
  const double got_sa = be().sum_squares(da.get(), a.size());
  EXPECT_LE(nmse(got_sa, sa), kReduction) << "sum_squares " << got_sa << ", reference " << sa;
  const GradSpan spans[] = {{da.get(), a.size()}, {db.get(), b.size()}, {dc.get(), c.size()}};
  const double norm = be().global_grad_norm(spans);
  EXPECT_LE(nmse(norm, std::sqrt(total)), kReduction) << "global_grad_norm " << norm;
  EXPECT_EQ(be().global_grad_norm(std::span<const GradSpan>()), 0.0);
  EXPECT_EQ(be().sum_squares(da.get(), 0), 0.0);
  // Clipping factor, a host scalar of the contract: min(1, max / (norm + 1e-6)), 1 without clipping.
  EXPECT_FLOAT_EQ(clip_factor(norm, norm / 2), static_cast<float>(norm / 2 / (norm + 1e-6)));
  EXPECT_EQ(clip_factor(norm, 0.0), 1.0f);
}

}  // namespace

STRATA_CONFORMANCE_SUITE(OptimConformance);

}  // namespace strata::backend::conformance
