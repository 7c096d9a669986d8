// Conformance of a backend's element-wise and per-row operations through Backend&: gelu, dropout (the exact mask of
// the documented counter-based key), residual, tanh, gather_cls and softmax cross-entropy, forward and accumulating
// backward, at a small ragged size and at one large enough to be split over threads; and the bf16 storage
// conversions, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "conformance.h"
#include "strata/core/error.h"

namespace strata::backend::conformance {
namespace {

class ElementwiseConformance : public Conformance {};

constexpr std::size_t kSizes[] = {13, 70001};

std::vector<double> plus(const std::vector<float>& a, const std::vector<double>& b) {
  std::vector<double> c(b);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] += a[i];
  return c;
}

TEST_P(ElementwiseConformance, GeluAndTanh) {
  for (const std::size_t n : kSizes) {
    const std::vector<float> x = randn(n, 1, 3.0), dy = randn(n, 2), g0 = randn(n, 3);
    F32 in(be(), x, Role::kInput, "in"), ddy(be(), dy, Role::kInput, "dout");
    F32 out(be(), n, "gelu out"), dx(be(), g0, Role::kInOut, "gelu din");
    be().gelu_forward(out.get(), in.get(), n);
    be().gelu_backward(dx.get(), in.get(), ddy.get(), n);
    std::vector<double> ry(n), rdx(n), ty(n), tdx(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i], cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
      ry[i] = v * cdf;
      rdx[i] = dy[i] * (cdf + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI));
      ty[i] = std::tanh(v);
    }
    EXPECT_TRUE(nmse_below("gelu_forward n=" + std::to_string(n), out.read(), ry, kElementwise));
    EXPECT_TRUE(nmse_below("gelu_backward n=" + std::to_string(n), dx.read(), plus(g0, rdx), kElementwise));

    F32 tout(be(), n, "tanh out"), tdxa(be(), g0, Role::kInOut, "tanh din");
    be().tanh_forward(tout.get(), in.get(), n);
    const std::vector<float> y = tout.read();
    F32 yin(be(), y, Role::kInput, "tanh out as input");
    be().tanh_backward(tdxa.get(), yin.get(), ddy.get(), n);
    for (std::size_t i = 0; i < n; ++i) tdx[i] = dy[i] * (1.0 - double(y[i]) * y[i]);  // from the forward's output
    EXPECT_TRUE(nmse_below("tanh_forward n=" + std::to_string(n), y, ty, kElementwise));
    EXPECT_TRUE(nmse_below("tanh_backward n=" + std::to_string(n), tdxa.read(), plus(g0, tdx), kElementwise));
  }
}

TEST_P(ElementwiseConformance, ResidualForwardAndBackward) {
  for (const std::size_t n : kSizes) {
    const std::vector<float> a = randn(n, 1), b = randn(n, 2), dy = randn(n, 3), ga = randn(n, 4), gb = randn(n, 5);
    F32 da(be(), a, Role::kInput, "a"), db(be(), b, Role::kInput, "b"), ddy(be(), dy, Role::kInput, "dout");
    F32 out(be(), n, "out"), dga(be(), ga, Role::kInOut, "da"), dgb(be(), gb, Role::kInOut, "db");
    be().residual_forward(out.get(), da.get(), db.get(), n);
    be().residual_backward(dga.get(), dgb.get(), ddy.get(), n);
    std::vector<double> ry(n), rd = widen(dy);
    for (std::size_t i = 0; i < n; ++i) ry[i] = double(a[i]) + b[i];
    EXPECT_TRUE(nmse_below("residual_forward", out.read(), ry, kElementwise));
    EXPECT_TRUE(nmse_below("residual_backward da", dga.read(), plus(ga, rd), kElementwise));
    EXPECT_TRUE(nmse_below("residual_backward db", dgb.read(), plus(gb, rd), kElementwise));
  }
}

// The mask is the contract's (dropout_dropped(key, i, p)): element i of the backward is kept exactly when the
// forward kept it; p = 0 is a copy, p = 1 drops everything.
TEST_P(ElementwiseConformance, DropoutDrawsTheKeyedMask) {
  const std::uint64_t key = dropout_key(5, 7, 2, 1, 3);
  for (const std::size_t n : kSizes)
    for (const float p : {0.0f, 0.3f, 1.0f}) {
      const std::string tag = " n=" + std::to_string(n) + " p=" + std::to_string(p);
      const std::vector<float> x = randn(n, 1), dy = randn(n, 2), g0 = randn(n, 3);
      F32 in(be(), x, Role::kInput, "in"), ddy(be(), dy, Role::kInput, "dout");
      F32 out(be(), n, "out"), dx(be(), g0, Role::kInOut, "din");
      be().dropout_forward(out.get(), in.get(), n, p, key);
      be().dropout_backward(dx.get(), ddy.get(), n, p, key);
      std::vector<double> ry(n), rdx(n);
      std::size_t dropped = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const bool drop = p > 0.0f && dropout_dropped(key, i, p);
        const double f = drop ? 0.0 : 1.0 / (1.0 - static_cast<double>(p));
        dropped += drop;
        ry[i] = x[i] * f;
        rdx[i] = dy[i] * f;
      }
      EXPECT_TRUE(nmse_below("dropout_forward" + tag, out.read(), ry, kElementwise));
      EXPECT_TRUE(nmse_below("dropout_backward" + tag, dx.read(), plus(g0, rdx), kElementwise));
      if (n > 1000 && p == 0.3f) {
        EXPECT_THROW(be().dropout_forward(out.get(), in.get(), n, 1.5f, key), Error) << "p outside [0, 1]";
        EXPECT_NEAR(static_cast<double>(dropped) / n, 0.3, 0.01);  // the stream is uniform
      }
    }
}

TEST_P(ElementwiseConformance, GatherClsForwardAndBackward) {
  const int B = 3, T = 5, C = 21;
  const std::vector<float> x = randn(B * T * C, 1), dy = randn(B * C, 2), g0 = randn(B * T * C, 3);
  F32 in(be(), x, Role::kInput, "in"), ddy(be(), dy, Role::kInput, "dout");
  F32 out(be(), B * C, "out"), dx(be(), g0, Role::kInOut, "din");
  be().gather_cls_forward(out.get(), in.get(), B, T, C);
  be().gather_cls_backward(dx.get(), ddy.get(), B, T, C);
  std::vector<double> ry(B * C), rdx = widen(g0);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) {
      ry[b * C + c] = x[b * T * C + c];
      rdx[b * T * C + c] += dy[b * C + c];
    }
  EXPECT_TRUE(nmse_below("gather_cls_forward", out.read(), ry, kElementwise));
  EXPECT_TRUE(nmse_below("gather_cls_backward", dx.read(), rdx, kElementwise));
}

TEST_P(ElementwiseConformance, SoftmaxCrossEntropyForwardAndBackward) {
  const int B = 6, K = 11;
  const float scale = 0.125f;
  const std::vector<float> logits = randn(B * K, 1, 3.0), g0 = randn(B * K, 2);
  const std::vector<std::int32_t> labels = {0, 10, 3, 3, 7, 1};
  F32 dl(be(), logits, Role::kInput, "logits"), losses(be(), B, "losses"), probs(be(), B * K, "probs");
  I32 dlab(be(), labels, I32::Role::kInput, "labels");
  F32 dx(be(), g0, Role::kInOut, "dlogits");
  be().softmax_xent_forward(losses.get(), probs.get(), dl.get(), dlab.get(), B, K);
  be().softmax_xent_backward(dx.get(), probs.get(), dlab.get(), B, K, scale);
  std::vector<double> rl(B), rp(B * K), rdx = widen(g0);
  for (int b = 0; b < B; ++b) {
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < K; ++k) mx = std::max(mx, double(logits[b * K + k]));
    for (int k = 0; k < K; ++k) sum += std::exp(logits[b * K + k] - mx);
    for (int k = 0; k < K; ++k) {
      rp[b * K + k] = std::exp(logits[b * K + k] - mx) / sum;
      rdx[b * K + k] += scale * (rp[b * K + k] - (k == labels[b] ? 1.0 : 0.0));
    }
    rl[b] = -(logits[b * K + labels[b]] - mx - std::log(sum));
  }
  EXPECT_TRUE(nmse_below("softmax_xent_forward losses", losses.read(), rl, kElementwise));
  EXPECT_TRUE(nmse_below("softmax_xent_forward probs", probs.read(), rp, kElementwise));
  EXPECT_TRUE(nmse_below("softmax_xent_backward", dx.read(), rdx, kElementwise));
}

// Round to nearest, ties to even; NaN stays NaN; infinities and signed zeros survive; widening is exact.
std::uint16_t ref_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

TEST_P(ElementwiseConformance, Bf16ConversionsBitForBit) {
  std::vector<float> x = randn(1000 + 7, 1, 10.0);
  const float specials[] = {0.0f,
                            -0.0f,
                            INFINITY,
                            -INFINITY,
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max(),
                            1.00390625f /* tie: even stays */,
                            1.01171875f /* tie: odd rounds up */,
                            std::nanf("")};
  for (std::size_t i = 0; i < std::size(specials); ++i) x[i * 3] = specials[i];
  const std::size_t n = x.size();
  F32 in(be(), x, Role::kInput, "f32 in");
  DevArray<std::uint16_t> half(be(), n, "bf16");
  be().f32_to_bf16(half.get(), in.get(), n);
  const std::vector<std::uint16_t> h = half.read();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]))
      EXPECT_EQ(h[i] & 0x7F80u, 0x7F80u) << "NaN must stay NaN";
    else
      EXPECT_EQ(h[i], ref_bf16(x[i])) << "element " << i << " = " << x[i];
  }
  DevArray<std::uint16_t> hin(be(), h, DevArray<std::uint16_t>::Role::kInput, "bf16 in");
  F32 back(be(), n, "f32 back");
  be().bf16_to_f32(back.get(), hin.get(), n);
  const std::vector<float> w = back.read();
  std::vector<double> stored(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u = static_cast<std::uint32_t>(h[i]) << 16, got;
    std::memcpy(&got, &w[i], 4);
    EXPECT_EQ(got, u) << "widening of element " << i;
  }
  std::vector<float> finite(w);  // the storage error over values that stay finite (FLT_MAX rounds to infinity)
  for (std::size_t i = 0; i < n; ++i) {
    const bool keep = std::isfinite(x[i]) && std::isfinite(w[i]);
    stored[i] = keep ? x[i] : 0.0;
    finite[i] = keep ? w[i] : 0.0f;
  }
  EXPECT_TRUE(nmse_below("bf16 storage round trip", finite, stored, kBf16Storage));
}

}  // namespace

STRATA_CONFORMANCE_SUITE(ElementwiseConformance);

}  // namespace strata::backend::conformance
