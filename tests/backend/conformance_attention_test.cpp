// Conformance of a backend's attention through Backend&: scaled dot-product attention with a key mask (no padding,
// partial padding, a fully padded sequence) and dropout on the probabilities, forward and accumulating backward,
// against a double-precision reference. The dropout mask is derived from the documented contract
// (kernel_contract.h: element (b,h,i,j) is counter ((b*NH+h)*T+i)*T+j of dropout_key's Philox stream), so a backend
// must draw exactly the mask the CPU draws; the scratch is the contract's size, guarded like every other buffer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "conformance.h"

namespace strata::backend::conformance {
namespace {

class AttentionConformance : public Conformance {};

struct Shape {
  int B = 3, T = 7, C = 12, NH = 3;
  int HS() const { return C / NH; }
  std::size_t btc() const { return static_cast<std::size_t>(B) * T * C; }
  std::size_t tt() const { return static_cast<std::size_t>(B) * NH * T * T; }
  std::size_t at(int b, int t, int h, int d) const { return (static_cast<std::size_t>(b) * T + t) * C + h * HS() + d; }
};

struct AttentionRef {
  std::vector<double> out, probs, dq, dk, dv;
};

// Keep factor of probability element e: 0 when dropped, 1/(1-p) when kept, 1 without dropout.
double keep(std::uint64_t key, std::size_t e, float p) {
  if (p <= 0.0f) return 1.0;
  return dropout_dropped(key, e, p) ? 0.0 : 1.0 / (1.0 - static_cast<double>(p));
}

// One (b, h) block: softmax probabilities of the masked, scaled scores.
std::vector<double> ref_probs(const Shape& s, const std::vector<float>& q, const std::vector<float>& k,
                              const std::vector<float>* mask, int b, int h) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.HS()));
  std::vector<double> p(static_cast<std::size_t>(s.T) * s.T);
  for (int i = 0; i < s.T; ++i) {
    double mx = -INFINITY, sum = 0.0;
    for (int j = 0; j < s.T; ++j) {
      double dot = 0.0;
      for (int d = 0; d < s.HS(); ++d) dot += double(q[s.at(b, i, h, d)]) * k[s.at(b, j, h, d)];
      double sc = dot * scale;
      if (mask) sc += (1.0 - (*mask)[b * s.T + j]) * static_cast<double>(kMaskedScore);
      p[i * s.T + j] = sc;
      mx = std::max(mx, sc);
    }
    for (int j = 0; j < s.T; ++j) sum += p[i * s.T + j] = std::exp(p[i * s.T + j] - mx);
    for (int j = 0; j < s.T; ++j) p[i * s.T + j] /= sum;
  }
  return p;
}

AttentionRef ref_attention(const Shape& s, const std::vector<float>& q, const std::vector<float>& k,
                           const std::vector<float>& v, const std::vector<float>* mask, float p_drop, std::uint64_t key,
                           const std::vector<float>& dout) {
  AttentionRef r{std::vector<double>(s.btc()), std::vector<double>(s.tt()), std::vector<double>(s.btc()),
                 std::vector<double>(s.btc()), std::vector<double>(s.btc())};
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.HS()));
  const int T = s.T;
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.NH; ++h) {
      const std::vector<double> p = ref_probs(s, q, k, mask, b, h);
      const std::size_t base = (static_cast<std::size_t>(b) * s.NH + h) * T * T;
      std::copy(p.begin(), p.end(), r.probs.begin() + base);
      for (int i = 0; i < T; ++i) {
        std::vector<double> dp(T);
        double dot = 0.0;
        for (int j = 0; j < T; ++j) {
          const double kf = keep(key, base + i * T + j, p_drop);
          double dd = 0.0;
          for (int d = 0; d < s.HS(); ++d) {
            r.out[s.at(b, i, h, d)] += p[i * T + j] * kf * v[s.at(b, j, h, d)];
            r.dv[s.at(b, j, h, d)] += p[i * T + j] * kf * dout[s.at(b, i, h, d)];
            dd += double(dout[s.at(b, i, h, d)]) * v[s.at(b, j, h, d)];
          }
          dp[j] = dd * kf;
          dot += dp[j] * p[i * T + j];
        }
        for (int j = 0; j < T; ++j) {
          const double ds = p[i * T + j] * (dp[j] - dot) * scale;
          for (int d = 0; d < s.HS(); ++d) {
            r.dq[s.at(b, i, h, d)] += ds * k[s.at(b, j, h, d)];
            r.dk[s.at(b, j, h, d)] += ds * q[s.at(b, i, h, d)];
          }
        }
      }
    }
  return r;
}

void check_attention(Backend& be, const std::vector<float>* mask, float p_drop, std::uint64_t key) {
  const Shape s;
  const std::string tag = std::string(mask ? " masked" : " unmasked") + " p=" + std::to_string(p_drop);
  const std::vector<float> q = randn(s.btc(), 1), k = randn(s.btc(), 2), v = randn(s.btc(), 3);
  const std::vector<float> dout = randn(s.btc(), 4), g0 = randn(3 * s.btc(), 5);
  const AttentionRef r = ref_attention(s, q, k, v, mask, p_drop, key, dout);
  F32 dq_in(be, q, Role::kInput, "q"), dk_in(be, k, Role::kInput, "k"), dv_in(be, v, Role::kInput, "v");
  F32 dm(be, mask ? *mask : std::vector<float>{}, Role::kInput, "key_mask");
  F32 out(be, s.btc(), "out"), probs(be, s.tt(), "probs");
  F32 scratch(be, attention_scratch_floats(s.B, s.T, s.C, s.NH), "scratch");
  be.attention_forward(out.get(), probs.get(), dq_in.get(), dk_in.get(), dv_in.get(), mask ? dm.get() : nullptr, s.B,
                       s.T, s.C, s.NH, p_drop, key, scratch.get());
  EXPECT_TRUE(nmse_below("attention_forward out" + tag, out.read(), r.out, kGemmLike));
  EXPECT_TRUE(nmse_below("attention_forward probs" + tag, probs.read(), r.probs, kElementwise));

  const std::vector<float> dq0(g0.begin(), g0.begin() + s.btc()), dk0(g0.begin() + s.btc(), g0.end() - s.btc()),
      dv0(g0.end() - s.btc(), g0.end());
  F32 ddout(be, dout, Role::kInput, "dout");
  F32 dq(be, dq0, Role::kInOut, "dq"), dk(be, dk0, Role::kInOut, "dk"), dv(be, dv0, Role::kInOut, "dv");
  be.attention_backward(dq.get(), dk.get(), dv.get(), ddout.get(), dq_in.get(), dk_in.get(), dv_in.get(), probs.get(),
                        mask ? dm.get() : nullptr, s.B, s.T, s.C, s.NH, p_drop, key, scratch.get());
  auto plus = [](const std::vector<float>& a, const std::vector<double>& b) {
    std::vector<double> c(b);
    for (std::size_t i = 0; i < c.size(); ++i) c[i] += a[i];
    return c;
  };
  EXPECT_TRUE(nmse_below("attention_backward dq" + tag, dq.read(), plus(dq0, r.dq), kGemmLike));
  EXPECT_TRUE(nmse_below("attention_backward dk" + tag, dk.read(), plus(dk0, r.dk), kGemmLike));
  EXPECT_TRUE(nmse_below("attention_backward dv" + tag, dv.read(), plus(dv0, r.dv), kGemmLike));
}

TEST_P(AttentionConformance, WithoutMaskOrDropout) { check_attention(be(), nullptr, 0.0f, 0); }

// Sequence 0 unpadded, sequence 1 with its last two keys padded, sequence 2 fully padded (uniform probabilities).
TEST_P(AttentionConformance, WithKeyMaskAndDropout) {
  const Shape s;
  std::vector<float> mask(static_cast<std::size_t>(s.B) * s.T, 1.0f);
  mask[1 * s.T + s.T - 1] = mask[1 * s.T + s.T - 2] = 0.0f;
  std::fill(mask.begin() + 2 * s.T, mask.end(), 0.0f);
  check_attention(be(), &mask, 0.0f, 0);
  check_attention(be(), &mask, 0.25f, dropout_key(11, 3, 2, 1, 0));
}

}  // namespace

STRATA_CONFORMANCE_SUITE(AttentionConformance);

}  // namespace strata::backend::conformance
