// Op harness for the CPU kernels (the ggml test-backend-ops idea): every forward against a plain double-precision
// reference written here, every gradient (inputs and parameters) against central differences of that reference,
// accumulation (+=) semantics, dropout keying, thread-count independence, and vector-math accuracy.
//
// Gradient check: L = Σ out·R for a fixed random R, the kernel's backward is run with dout = R, and each gradient
// element is compared with (L(x+h) - L(x-h)) / 2h evaluated in double on the reference forward, h = 1e-3. The
// reference is double, so the difference is accurate to ~h²·L''' ≈ 1e-7 relative (rounding ~1e-13/h), far below
// the tolerance |g - fd| <= 1e-4·(|fd| + 0.01·max|fd|): that catches any gradient off by 1e-3 relative while
// leaving float32 kernels (relative error ~1e-6) a wide, non-flaky margin.
#include "strata/backend/cpu/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "strata/backend/cpu/vecmath.h"
#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"

namespace strata::backend::cpu {
namespace {

using Vec = std::vector<float>;
using DVec = std::vector<double>;

ThreadPool& pool() {
  static ThreadPool p(2);
  return p;
}

Vec randn(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

DVec to_d(const Vec& v) { return DVec(v.begin(), v.end()); }

double dot(const DVec& a, const Vec& r) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * r[i];
  return s;
}

// max |got - want| / (|want| + floor) over all elements; floor < 0 means 0.1·max|want| (float32 rounding of a sum is
// relative to its terms, not to a result that happens to be near zero).
void expect_close(const std::string& what, const Vec& got, const DVec& want, double rtol, double floor = -1) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (floor < 0) {
    floor = 0;
    for (double w : want) floor = std::max(floor, 0.1 * std::abs(w));
  }
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    double e = std::abs(got[i] - want[i]) / (std::abs(want[i]) + floor);
    if (!(e <= worst)) worst = e, at = i;  // NaN is worst
  }
  EXPECT_LE(worst, rtol) << what << ": element " << at << " got " << got[at] << " want " << want[at];
}

struct GradTarget {
  std::string name;
  DVec* x;    // the reference's copy of the input, perturbed in place
  Vec* grad;  // the kernel's gradient buffer for it
};

constexpr double kFdStep = 1e-3;
constexpr double kFdRtol = 1e-4;

// Zeroes the gradients, runs backward, checks every gradient against central differences of loss() over its input,
// then runs backward again and checks that every gradient doubled (backward accumulates).
void check_gradients(const std::vector<GradTarget>& targets, const std::function<void()>& backward,
                     const std::function<double()>& loss) {
  for (auto& t : targets) std::fill(t.grad->begin(), t.grad->end(), 0.0f);
  backward();
  std::vector<Vec> once;
  for (auto& t : targets) {
    once.push_back(*t.grad);
    DVec& x = *t.x;
    ASSERT_EQ(x.size(), t.grad->size()) << t.name;
    DVec fd(x.size());
    double scale = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double xi = x[i];
      x[i] = xi + kFdStep;
      const double lp = loss();
      x[i] = xi - kFdStep;
      const double lm = loss();
      x[i] = xi;
      fd[i] = (lp - lm) / (2 * kFdStep);
      scale = std::max(scale, std::abs(fd[i]));
    }
    ASSERT_GT(scale, 1e-6) << t.name << ": the loss does not depend on this input; the check would be vacuous";
    expect_close("gradient " + t.name, *t.grad, fd, kFdRtol, 0.01 * scale);
  }
  backward();
  for (std::size_t j = 0; j < targets.size(); ++j) {
    DVec twice(once[j].begin(), once[j].end());
    for (auto& v : twice) v *= 2;
    expect_close("second backward of " + targets[j].name + " (must accumulate)", *targets[j].grad, twice, 1e-5, 1e-6);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Double-precision references.

DVec embedding_ref(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>* segs, const DVec& wte,
                   const DVec& wpe, const DVec* wse, int B, int T, int C) {
  DVec out(static_cast<std::size_t>(B) * T * C);
  for (int r = 0; r < B * T; ++r)
    for (int c = 0; c < C; ++c) {
      double v = wte[ids[r] * C + c] + wpe[(r % T) * C + c];
      if (wse) v += (*wse)[(segs ? (*segs)[r] : 0) * C + c];
      out[r * C + c] = v;
    }
  return out;
}

DVec layernorm_ref(const DVec& in, const DVec& w, const DVec& b, int N, int C, double eps, DVec* mean = nullptr,
                   DVec* rstd = nullptr) {
  DVec out(in.size());
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += in[n * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (in[n * C + c] - m) * (in[n * C + c] - m);
    const double rs = 1 / std::sqrt(v / C + eps);
    if (mean) (*mean)[n] = m;
    if (rstd) (*rstd)[n] = rs;
    for (int c = 0; c < C; ++c) out[n * C + c] = (in[n * C + c] - m) * rs * w[c] + b[c];
  }
  return out;
}

DVec linear_ref(const DVec& in, const DVec& w, const DVec* b, int N, int IC, int OC) {
  DVec out(static_cast<std::size_t>(N) * OC);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int i = 0; i < IC; ++i) s += in[n * IC + i] * w[o * IC + i];
      out[n * OC + o] = s;
    }
  return out;
}

// Hugging Face BertSelfAttention semantics in double, including the finfo(float32).min mask bias.
DVec attention_ref(const DVec& q, const DVec& k, const DVec& v, const Vec* mask, int B, int T, int C, int NH, double p,
                   std::uint64_t key, DVec* probs_out = nullptr) {
  const int HS = C / NH;
  const double scale = 1 / std::sqrt(static_cast<double>(HS));
  DVec out(static_cast<std::size_t>(B) * T * C, 0.0);
  std::vector<double> row(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int i = 0; i < T; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < T; ++j) {
          double s = 0;
          for (int d = 0; d < HS; ++d) s += q[(b * T + i) * C + h * HS + d] * k[(b * T + j) * C + h * HS + d];
          s *= scale;
          if (mask) s += (1.0 - (*mask)[b * T + j]) * static_cast<double>(kMaskedScore);
          row[j] = s;
          mx = std::max(mx, s);
        }
        double sum = 0;
        for (int j = 0; j < T; ++j) sum += (row[j] = std::exp(row[j] - mx));
        const std::size_t base = ((static_cast<std::size_t>(b) * NH + h) * T + i) * T;
        for (int j = 0; j < T; ++j) {
          double pj = row[j] / sum;
          if (probs_out) (*probs_out)[base + j] = pj;
          if (p > 0) pj = philox_uniform(key, base + j) < p ? 0.0 : pj / (1 - p);
          for (int d = 0; d < HS; ++d) out[(b * T + i) * C + h * HS + d] += pj * v[(b * T + j) * C + h * HS + d];
        }
      }
  return out;
}

double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_grad_ref(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}

DVec softmax_xent_ref(const DVec& logits, const std::vector<std::int32_t>& labels, int B, int K, DVec* probs) {
  DVec losses(B);
  for (int b = 0; b < B; ++b) {
    double mx = -std::numeric_limits<double>::infinity(), s = 0;
    for (int j = 0; j < K; ++j) mx = std::max(mx, logits[b * K + j]);
    for (int j = 0; j < K; ++j) s += std::exp(logits[b * K + j] - mx);
    if (probs)
      for (int j = 0; j < K; ++j) (*probs)[b * K + j] = std::exp(logits[b * K + j] - mx) / s;
    losses[b] = std::log(s) + mx - logits[b * K + labels[b]];
  }
  return losses;
}

// ---------------------------------------------------------------------------------------------------------------

TEST(KernelsTest, EmbeddingForwardAndGradients) {
  const int B = 2, T = 5, C = 12, V = 7, S = 2, maxT = 6;
  const std::vector<std::int32_t> ids = {1, 3, 3, 0, 6, 3, 2, 1, 1, 5};  // repeats: gradient rows must add up
  const std::vector<std::int32_t> segs = {0, 0, 1, 1, 1, 0, 1, 1, 0, 0};
  Vec wte = randn(V * C, 1), wpe = randn(maxT * C, 2), wse = randn(S * C, 3), r = randn(B * T * C, 4);
  DVec wte_d = to_d(wte), wpe_d = to_d(wpe), wse_d = to_d(wse);
  Vec out(B * T * C);
  // With segments, without segments (segment 0 for all, as Hugging Face without token_type_ids), without wse.
  embedding_forward(pool(), out.data(), ids.data(), segs.data(), wte.data(), wpe.data(), wse.data(), B, T, C);
  expect_close("embedding with segments", out, embedding_ref(ids, &segs, wte_d, wpe_d, &wse_d, B, T, C), 1e-6);
  embedding_forward(pool(), out.data(), ids.data(), nullptr, wte.data(), wpe.data(), wse.data(), B, T, C);
  expect_close("embedding, segment 0 implied", out, embedding_ref(ids, nullptr, wte_d, wpe_d, &wse_d, B, T, C), 1e-6);
  embedding_forward(pool(), out.data(), ids.data(), nullptr, wte.data(), wpe.data(), nullptr, B, T, C);
  expect_close("embedding without segment table", out, embedding_ref(ids, nullptr, wte_d, wpe_d, nullptr, B, T, C),
               1e-6);

  Vec dwte(wte.size()), dwpe(wpe.size()), dwse(wse.size());
  check_gradients(
      {{"wte", &wte_d, &dwte}, {"wpe", &wpe_d, &dwpe}, {"wse", &wse_d, &dwse}},
      [&] {
        embedding_backward(pool(), dwte.data(), dwpe.data(), dwse.data(), r.data(), ids.data(), segs.data(), B, T, C);
      },
      [&] { return dot(embedding_ref(ids, &segs, wte_d, wpe_d, &wse_d, B, T, C), r); });
  // Rows of wte never looked up (id 4) and the unused position (5) get no gradient.
  for (int c = 0; c < C; ++c) {
    EXPECT_EQ(dwte[4 * C + c], 0.0f);
    EXPECT_EQ(dwpe[5 * C + c], 0.0f);
  }

  std::vector<std::int32_t> bad = ids;
  bad[7] = -2;
  EXPECT_THROW(embedding_forward(pool(), out.data(), bad.data(), nullptr, wte.data(), wpe.data(), nullptr, B, T, C),
               Error);
}

TEST(KernelsTest, LayerNormForwardAndGradients) {
  for (int C : {12, 13, 3}) {
    const int N = 10;
    SCOPED_TRACE("C = " + std::to_string(C));
    Vec in = randn(N * C, 10 + C), w = randn(C, 11), b = randn(C, 12), r = randn(N * C, 13);
    for (int c = 0; c < C; ++c) in[c] += 100.0f;  // a row far from zero: variance must not cancel
    DVec in_d = to_d(in), w_d = to_d(w), b_d = to_d(b);
    const float eps = 1e-12f;
    Vec out(N * C), mean(N), rstd(N);
    layernorm_forward(pool(), out.data(), mean.data(), rstd.data(), in.data(), w.data(), b.data(), N, C, eps);
    DVec mean_d(N), rstd_d(N);
    // The row at +100 loses ~1e-5 absolute to the float32 mean, as any float32 layer norm does.
    expect_close("layernorm out", out, layernorm_ref(in_d, w_d, b_d, N, C, eps, &mean_d, &rstd_d), 5e-5);
    expect_close("layernorm mean", mean, mean_d, 1e-6);
    expect_close("layernorm rstd", rstd, rstd_d, 1e-5);

    Vec din(in.size()), dw(C), db(C);
    check_gradients(
        {{"in", &in_d, &din}, {"w", &w_d, &dw}, {"b", &b_d, &db}},
        [&] {
          layernorm_backward(pool(), din.data(), dw.data(), db.data(), r.data(), in.data(), w.data(), mean.data(),
                             rstd.data(), N, C);
        },
        [&] { return dot(layernorm_ref(in_d, w_d, b_d, N, C, eps), r); });
  }
}

TEST(KernelsTest, LinearForwardAndGradients) {
  const int N = 10, IC = 12, OC = 7;
  Vec in = randn(N * IC, 20), w = randn(OC * IC, 21, 0.3), b = randn(OC, 22), r = randn(N * OC, 23);
  DVec in_d = to_d(in), w_d = to_d(w), b_d = to_d(b);
  Vec out(N * OC, 123.0f);  // garbage: the forward must overwrite
  linear_forward(pool(), out.data(), in.data(), w.data(), b.data(), N, IC, OC);
  expect_close("linear with bias", out, linear_ref(in_d, w_d, &b_d, N, IC, OC), 1e-5);
  std::fill(out.begin(), out.end(), 123.0f);
  linear_forward(pool(), out.data(), in.data(), w.data(), nullptr, N, IC, OC);
  expect_close("linear without bias", out, linear_ref(in_d, w_d, nullptr, N, IC, OC), 1e-5);

  Vec din(in.size()), dw(w.size()), db(OC);
  check_gradients(
      {{"in", &in_d, &din}, {"w", &w_d, &dw}, {"b", &b_d, &db}},
      [&] { linear_backward(pool(), din.data(), dw.data(), db.data(), r.data(), in.data(), w.data(), N, IC, OC); },
      [&] { return dot(linear_ref(in_d, w_d, &b_d, N, IC, OC), r); });
  // din and db are optional (first layer, bias-free layers).
  Vec dw2(w.size());
  linear_backward(pool(), nullptr, dw2.data(), nullptr, r.data(), in.data(), w.data(), N, IC, OC);
  for (std::size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw2[i], dw[i] / 2, 1e-5 * (1 + std::abs(dw[i])));
}

struct AttentionCase {
  int B = 2, T = 5, C = 12, NH = 3;
  Vec q, k, v, mask, r;
  AttentionCase(std::uint64_t seed, std::vector<int> masked_keys_b1) {
    q = randn(B * T * C, seed);
    k = randn(B * T * C, seed + 1);
    v = randn(B * T * C, seed + 2);
    r = randn(B * T * C, seed + 3);
    mask.assign(B * T, 1.0f);
    for (int j : masked_keys_b1) mask[T + j] = 0.0f;
  }
  std::size_t tt() const { return static_cast<std::size_t>(B) * NH * T * T; }
};

void check_attention(float p, std::uint64_t key) {
  AttentionCase a(30, {3, 4});  // sequence 1: the last two tokens are padding
  const int B = a.B, T = a.T, C = a.C, NH = a.NH;
  DVec q_d = to_d(a.q), k_d = to_d(a.k), v_d = to_d(a.v);
  Vec out(B * T * C), probs(a.tt()), scratch(attention_scratch_floats(B, T, C, NH));
  attention_forward(pool(), out.data(), probs.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), B, T, C, NH, p,
                    key, scratch.data());
  DVec probs_d(a.tt());
  expect_close("attention out", out, attention_ref(q_d, k_d, v_d, &a.mask, B, T, C, NH, p, key, &probs_d), 1e-5);
  expect_close("attention saved probs (before dropout)", probs, probs_d, 1e-5);
  for (int h = 0; h < NH; ++h)  // padded keys get exactly zero probability
    for (int i = 0; i < T; ++i)
      for (int j : {3, 4}) EXPECT_EQ(probs[((1 * NH + h) * T + i) * T + j], 0.0f);

  Vec dq(a.q.size()), dk(a.k.size()), dv(a.v.size());
  check_gradients(
      {{"q", &q_d, &dq}, {"k", &k_d, &dk}, {"v", &v_d, &dv}},
      [&] {
        attention_backward(pool(), dq.data(), dk.data(), dv.data(), a.r.data(), a.q.data(), a.k.data(), a.v.data(),
                           probs.data(), a.mask.data(), B, T, C, NH, p, key, scratch.data());
      },
      [&] { return dot(attention_ref(q_d, k_d, v_d, &a.mask, B, T, C, NH, p, key), a.r); });
}

TEST(KernelsTest, AttentionForwardAndGradients) { check_attention(0.0f, 0); }

TEST(KernelsTest, AttentionWithDropoutPassesFiniteDifferences) { check_attention(0.3f, dropout_key(7, 3, 1, 0, 0)); }

TEST(KernelsTest, AttentionWithoutMaskEqualsAllOnesMask) {
  AttentionCase a(40, {});
  Vec o1(a.q.size()), o2(a.q.size()), p1(a.tt()), p2(a.tt()), s(attention_scratch_floats(a.B, a.T, a.C, a.NH));
  attention_forward(pool(), o1.data(), p1.data(), a.q.data(), a.k.data(), a.v.data(), nullptr, a.B, a.T, a.C, a.NH,
                    0.0f, 0, s.data());
  attention_forward(pool(), o2.data(), p2.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), a.B, a.T, a.C,
                    a.NH, 0.0f, 0, s.data());
  EXPECT_EQ(o1, o2);
  EXPECT_EQ(p1, p2);
}

// A sequence that is all padding: Hugging Face adds finfo.min to every score, which absorbs them, so every query
// attends uniformly; its backward is autograd's softmax backward at those uniform probabilities (the scores still
// receive gradient even though the forward no longer depends on them), which the kernel must reproduce.
TEST(KernelsTest, AttentionFullyMaskedSequenceFollowsHuggingFace) {
  AttentionCase a(50, {0, 1, 2, 3, 4});
  const int B = a.B, T = a.T, C = a.C, NH = a.NH, HS = C / NH;
  Vec out(B * T * C), probs(a.tt()), scratch(attention_scratch_floats(B, T, C, NH));
  attention_forward(pool(), out.data(), probs.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), B, T, C, NH,
                    0.0f, 0, scratch.data());
  for (std::size_t i = a.tt() / 2; i < a.tt(); ++i) EXPECT_NEAR(probs[i], 1.0 / T, 1e-7);
  for (int i = 0; i < T; ++i)
    for (int c = 0; c < C; ++c) {
      double mean_v = 0;
      for (int j = 0; j < T; ++j) mean_v += a.v[(T + j) * C + c] / T;
      EXPECT_NEAR(out[(T + i) * C + c], mean_v, 1e-5);
    }
  // Reference backward (autograd of the HF graph) in double for the whole batch.
  DVec dq(a.q.size(), 0.0), dk(a.k.size(), 0.0), dv(a.v.size(), 0.0);
  const double scale = 1 / std::sqrt(static_cast<double>(HS));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int i = 0; i < T; ++i) {
        const float* P = &probs[((b * NH + h) * T + i) * T];
        std::vector<double> dP(T);
        double sum = 0;
        for (int j = 0; j < T; ++j) {
          for (int d = 0; d < HS; ++d) {
            dP[j] += a.r[(b * T + i) * C + h * HS + d] * a.v[(b * T + j) * C + h * HS + d];
            dv[(b * T + j) * C + h * HS + d] += P[j] * a.r[(b * T + i) * C + h * HS + d];
          }
          sum += P[j] * dP[j];
        }
        for (int j = 0; j < T; ++j) {
          const double ds = P[j] * (dP[j] - sum) * scale;
          for (int d = 0; d < HS; ++d) {
            dq[(b * T + i) * C + h * HS + d] += ds * a.k[(b * T + j) * C + h * HS + d];
            dk[(b * T + j) * C + h * HS + d] += ds * a.q[(b * T + i) * C + h * HS + d];
          }
        }
      }
  Vec gq(a.q.size()), gk(a.k.size()), gv(a.v.size());
  attention_backward(pool(), gq.data(), gk.data(), gv.data(), a.r.data(), a.q.data(), a.k.data(), a.v.data(),
                     probs.data(), a.mask.data(), B, T, C, NH, 0.0f, 0, scratch.data());
  expect_close("dq", gq, dq, 1e-4, 1e-2);
  expect_close("dk", gk, dk, 1e-4, 1e-2);
  expect_close("dv", gv, dv, 1e-4, 1e-2);
  double masked_dq = 0;
  for (int i = T * C; i < 2 * T * C; ++i) masked_dq += std::abs(gq[i]);
  EXPECT_GT(masked_dq, 1e-3);  // not silently zeroed
}

TEST(KernelsTest, AttentionRejectsBadShapes) {
  Vec buf(1000);
  EXPECT_THROW(attention_forward(pool(), buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), nullptr, 1, 2, 10,
                                 3, 0.0f, 0, buf.data()),
               Error);  // 10 % 3 != 0
  EXPECT_THROW(attention_forward(pool(), buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), nullptr, 1, 2, 12,
                                 3, 1.5f, 0, buf.data()),
               Error);
}

TEST(KernelsTest, GeluForwardAndGradient) {
  const std::size_t n = 37;
  Vec in = randn(n, 60, 2.5), r = randn(n, 61);
  DVec in_d = to_d(in);
  auto ref = [&] {
    DVec o(n);
    for (std::size_t i = 0; i < n; ++i) o[i] = gelu_ref(in_d[i]);
    return o;
  };
  Vec out(n);
  gelu_forward(pool(), out.data(), in.data(), n);
  expect_close("gelu", out, ref(), 1e-6, 1e-30);
  Vec din(n);
  check_gradients(
      {{"in", &in_d, &din}}, [&] { gelu_backward(pool(), din.data(), in.data(), r.data(), n); },
      [&] { return dot(ref(), r); });
}

TEST(KernelsTest, TanhForwardAndGradient) {
  const std::size_t n = 29;
  Vec in = randn(n, 70, 1.5), r = randn(n, 71);
  in[0] = 1e-20f;
  in[1] = -0.3f;
  DVec in_d = to_d(in);
  auto ref = [&] {
    DVec o(n);
    for (std::size_t i = 0; i < n; ++i) o[i] = std::tanh(in_d[i]);
    return o;
  };
  Vec out(n);
  tanh_forward(pool(), out.data(), in.data(), n);
  expect_close("tanh", out, ref(), 1e-6, 1e-30);
  Vec din(n);
  check_gradients(
      {{"in", &in_d, &din}}, [&] { tanh_backward(pool(), din.data(), out.data(), r.data(), n); },
      [&] { return dot(ref(), r); });
}

TEST(KernelsTest, ResidualAndGatherCls) {
  const int B = 3, T = 4, C = 13;
  const std::size_t n = B * T * C;
  Vec a = randn(n, 80), b = randn(n, 81), r = randn(n, 82), out(n);
  DVec a_d = to_d(a), b_d = to_d(b);
  auto res_ref = [&] {
    DVec o(n);
    for (std::size_t i = 0; i < n; ++i) o[i] = a_d[i] + b_d[i];
    return o;
  };
  residual_forward(pool(), out.data(), a.data(), b.data(), n);
  expect_close("residual", out, res_ref(), 1e-7);
  Vec da(n), db(n);
  check_gradients(
      {{"a", &a_d, &da}, {"b", &b_d, &db}}, [&] { residual_backward(pool(), da.data(), db.data(), r.data(), n); },
      [&] { return dot(res_ref(), r); });

  Vec cls(B * C), rc = randn(B * C, 83);
  auto cls_ref = [&] {
    DVec o(B * C);
    for (int bb = 0; bb < B; ++bb)
      for (int c = 0; c < C; ++c) o[bb * C + c] = a_d[bb * T * C + c];
    return o;
  };
  gather_cls_forward(pool(), cls.data(), a.data(), B, T, C);
  expect_close("gather_cls", cls, cls_ref(), 0.0);
  Vec din(n);
  check_gradients(
      {{"in", &a_d, &din}}, [&] { gather_cls_backward(pool(), din.data(), rc.data(), B, T, C); },
      [&] { return dot(cls_ref(), rc); });
}

TEST(KernelsTest, SoftmaxCrossEntropyForwardAndGradient) {
  const int B = 4, K = 7;
  Vec logits = randn(B * K, 90, 2.0);
  logits[K + 2] = 60.0f;  // a confident row: the log-sum-exp form must stay exact
  const std::vector<std::int32_t> labels = {0, 6, 3, 3};
  DVec logits_d = to_d(logits), probs_d(B * K);
  Vec losses(B), probs(B * K);
  softmax_xent_forward(pool(), losses.data(), probs.data(), logits.data(), labels.data(), B, K);
  expect_close("losses", losses, softmax_xent_ref(logits_d, labels, B, K, &probs_d), 1e-5, 1e-6);
  expect_close("probs", probs, probs_d, 1e-5, 1e-30);
  const float scale = 1.0f / 8;  // e.g. mean over a batch of 8 split in micro-batches
  Vec dlogits(B * K);
  check_gradients(
      {{"logits", &logits_d, &dlogits}},
      [&] { softmax_xent_backward(pool(), dlogits.data(), probs.data(), labels.data(), B, K, scale); },
      [&] {
        DVec l = softmax_xent_ref(logits_d, labels, B, K, nullptr);
        double s = 0;
        for (double x : l) s += x;
        return scale * s;
      });
  std::vector<std::int32_t> bad = {0, 7, 1, 1};
  EXPECT_THROW(softmax_xent_forward(pool(), losses.data(), probs.data(), logits.data(), bad.data(), B, K), Error);
  bad[1] = -1;
  EXPECT_THROW(softmax_xent_backward(pool(), dlogits.data(), probs.data(), bad.data(), B, K, 1.0f), Error);
}

TEST(KernelsTest, DropoutForwardAndGradient) {
  const std::size_t n = 45;
  const float p = 0.25f;
  const std::uint64_t key = dropout_key(1, 2, 3, 4, 5);
  Vec in = randn(n, 100), r = randn(n, 101), out(n);
  DVec in_d = to_d(in);
  auto ref = [&] {
    DVec o(n);
    for (std::size_t i = 0; i < n; ++i) o[i] = philox_uniform(key, i) < p ? 0.0 : in_d[i] / (1 - p);
    return o;
  };
  dropout_forward(pool(), out.data(), in.data(), n, p, key);
  expect_close("dropout", out, ref(), 1e-6);
  Vec din(n);
  check_gradients(
      {{"in", &in_d, &din}}, [&] { dropout_backward(pool(), din.data(), r.data(), n, p, key); },
      [&] { return dot(ref(), r); });
}

TEST(KernelsTest, DropoutMaskIsKeyedAndHasTheRightRate) {
  const std::size_t n = 200003;  // odd: a partial last vector
  Vec ones(n, 1.0f), a(n), b(n), c(n);
  const float p = 0.1f;
  const std::uint64_t k1 = dropout_key(42, 10, 2, 1, 0), k2 = dropout_key(42, 10, 2, 2, 0);
  EXPECT_NE(k1, k2);
  EXPECT_NE(k1, dropout_key(42, 11, 2, 1, 0));
  EXPECT_NE(k1, dropout_key(42, 10, 3, 1, 0));
  EXPECT_NE(k1, dropout_key(42, 10, 2, 1, 1));
  dropout_forward(pool(), a.data(), ones.data(), n, p, k1);
  dropout_forward(pool(), b.data(), ones.data(), n, p, k1);
  dropout_forward(pool(), c.data(), ones.data(), n, p, k2);
  EXPECT_EQ(a, b);  // same key: same mask (a recomputed forward draws the same)
  std::size_t kept = 0, differ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(a[i] == 0.0f, philox_uniform(k1, i) < p) << "element " << i << " disagrees with philox_uniform";
    if (a[i] != 0.0f) {
      ++kept;
      ASSERT_FLOAT_EQ(a[i], 1.0f / (1.0f - p));
    }
    differ += (a[i] == 0.0f) != (c[i] == 0.0f);
  }
  // Keep fraction within 5 standard deviations (sqrt(p(1-p)/n) = 6.7e-4) of 1 - p.
  EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 5 * std::sqrt(p * (1 - p) / n));
  // Independent masks disagree on a fraction 2p(1-p) = 0.18 of the elements.
  EXPECT_NEAR(static_cast<double>(differ) / n, 2 * p * (1 - p), 0.01);

  // p = 0 is an exact copy (and its backward a plain add); p = 1 drops everything; p outside [0, 1] is bad input.
  Vec x = randn(1001, 102), y(1001), g(1001, 1.0f);
  dropout_forward(pool(), y.data(), x.data(), x.size(), 0.0f, k1);
  EXPECT_EQ(x, y);
  dropout_backward(pool(), g.data(), x.data(), x.size(), 0.0f, k1);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(g[i], 1.0f + x[i]);
  dropout_forward(pool(), y.data(), x.data(), x.size(), 1.0f, k1);
  for (float v : y) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(dropout_forward(pool(), y.data(), x.data(), x.size(), -0.1f, k1), Error);
  EXPECT_THROW(dropout_backward(pool(), y.data(), x.data(), x.size(), std::nanf(""), k1), Error);
}

// Every kernel gives bitwise the same result with 1 and 2 threads, at sizes large enough to be split.
TEST(KernelsTest, ResultsDoNotDependOnThreadCount) {
  ThreadPool one(1), two(2);
  auto both = [&](const std::string& what, const std::function<Vec(ThreadPool&)>& run) {
    Vec a = run(one), b = run(two);
    EXPECT_EQ(a, b) << what;
  };
  const std::size_t n = 100003;
  Vec x = randn(n, 110, 2.0), y = randn(n, 111), z = randn(n, 112);
  both("gelu fwd", [&](ThreadPool& p) {
    Vec o(n);
    gelu_forward(p, o.data(), x.data(), n);
    return o;
  });
  both("gelu bwd", [&](ThreadPool& p) {
    Vec g = z;
    gelu_backward(p, g.data(), x.data(), y.data(), n);
    return g;
  });
  both("tanh fwd", [&](ThreadPool& p) {
    Vec o(n);
    tanh_forward(p, o.data(), x.data(), n);
    return o;
  });
  both("tanh bwd", [&](ThreadPool& p) {
    Vec g = z;
    tanh_backward(p, g.data(), x.data(), y.data(), n);
    return g;
  });
  both("dropout fwd", [&](ThreadPool& p) {
    Vec o(n);
    dropout_forward(p, o.data(), x.data(), n, 0.3f, 9);
    return o;
  });
  both("dropout bwd", [&](ThreadPool& p) {
    Vec g = z;
    dropout_backward(p, g.data(), x.data(), n, 0.3f, 9);
    return g;
  });
  both("residual", [&](ThreadPool& p) {
    Vec o(n), ga = z, gb = y;
    residual_forward(p, o.data(), x.data(), y.data(), n);
    residual_backward(p, ga.data(), gb.data(), x.data(), n);
    o.insert(o.end(), ga.begin(), ga.end());
    o.insert(o.end(), gb.begin(), gb.end());
    return o;
  });

  const int N = 301, C = 200;
  Vec in = randn(N * C, 113), w = randn(C, 114), bias = randn(C, 115), d = randn(N * C, 116);
  both("layernorm", [&](ThreadPool& p) {
    Vec o(N * C), m(N), rs(N), din(N * C, 0.5f), dw(C, 0.5f), db(C, 0.5f);
    layernorm_forward(p, o.data(), m.data(), rs.data(), in.data(), w.data(), bias.data(), N, C, 1e-12f);
    layernorm_backward(p, din.data(), dw.data(), db.data(), d.data(), in.data(), w.data(), m.data(), rs.data(), N, C);
    for (const Vec* v : {&m, &rs, &din, &dw, &db}) o.insert(o.end(), v->begin(), v->end());
    return o;
  });
  both("linear", [&](ThreadPool& p) {
    const int IC = 200, OC = 130;
    Vec wl = randn(OC * IC, 117, 0.1), bl = randn(OC, 118), dl = randn(N * OC, 119);
    Vec o(N * OC), din(N * IC), dw(OC * IC), db(OC);
    linear_forward(p, o.data(), in.data(), wl.data(), bl.data(), N, IC, OC);
    linear_backward(p, din.data(), dw.data(), db.data(), dl.data(), in.data(), wl.data(), N, IC, OC);
    for (const Vec* v : {&din, &dw, &db}) o.insert(o.end(), v->begin(), v->end());
    return o;
  });
  both("embedding", [&](ThreadPool& p) {
    const int B = 4, T = 33, E = 264, V = 50;
    std::vector<std::int32_t> ids(B * T), segs(B * T);
    for (int i = 0; i < B * T; ++i) ids[i] = (i * 7) % V, segs[i] = i % 2;
    Vec wte = randn(V * E, 120), wpe = randn(T * E, 121), wse = randn(2 * E, 122), de = randn(B * T * E, 123);
    Vec o(B * T * E), dwte(V * E), dwpe(T * E), dwse(2 * E);
    embedding_forward(p, o.data(), ids.data(), segs.data(), wte.data(), wpe.data(), wse.data(), B, T, E);
    embedding_backward(p, dwte.data(), dwpe.data(), dwse.data(), de.data(), ids.data(), segs.data(), B, T, E);
    for (const Vec* v : {&dwte, &dwpe, &dwse}) o.insert(o.end(), v->begin(), v->end());
    return o;
  });
  both("attention", [&](ThreadPool& p) {
    const int B = 3, T = 37, A = 48, NH = 4;
    Vec q = randn(B * T * A, 124), k = randn(B * T * A, 125), v = randn(B * T * A, 126), da = randn(B * T * A, 127);
    Vec mask(B * T, 1.0f);
    for (int j = 30; j < T; ++j) mask[T + j] = 0.0f;
    Vec o(B * T * A), probs(B * NH * T * T), s(attention_scratch_floats(B, T, A, NH));
    Vec dq(o.size()), dk(o.size()), dv(o.size());
    attention_forward(p, o.data(), probs.data(), q.data(), k.data(), v.data(), mask.data(), B, T, A, NH, 0.2f, 77,
                      s.data());
    attention_backward(p, dq.data(), dk.data(), dv.data(), da.data(), q.data(), k.data(), v.data(), probs.data(),
                       mask.data(), B, T, A, NH, 0.2f, 77, s.data());
    for (const Vec* vv : {&probs, &dq, &dk, &dv}) o.insert(o.end(), vv->begin(), vv->end());
    return o;
  });
  both("softmax_xent", [&](ThreadPool& p) {
    const int B = 300, K = 100;
    Vec logits = randn(B * K, 128), losses(B), probs(B * K), dl(B * K);
    std::vector<std::int32_t> labels(B);
    for (int i = 0; i < B; ++i) labels[i] = (i * 13) % K;
    softmax_xent_forward(p, losses.data(), probs.data(), logits.data(), labels.data(), B, K);
    softmax_xent_backward(p, dl.data(), probs.data(), labels.data(), B, K, 0.01f);
    for (const Vec* v : {&probs, &dl}) losses.insert(losses.end(), v->begin(), v->end());
    return losses;
  });
}

// Vector math against the exact functions over dense grids.
TEST(KernelsTest, VectorMathAccuracy) {
  auto grid = [](double lo, double hi, std::size_t n) {
    Vec v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(lo + (hi - lo) * i / (n - 1));
    return v;
  };
  const std::size_t n = 200000;
  // exp over the whole normal range.
  {
    Vec x = grid(-87.0, 88.5, n), y(n);
    for (std::size_t i = 0; i < n; i += 8) vec::store(y.data() + i, vec::exp(vec::load(x.data() + i)));
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(y[i] / std::exp(double(x[i])) - 1));
    EXPECT_LE(worst, 1e-6) << "exp";
    float special[8] = {-INFINITY, INFINITY, NAN, 0.0f, -200.0f, 200.0f, -100.0f, 1.0f}, out[8];
    vec::store(out, vec::exp(vec::load(special)));
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], INFINITY);
    EXPECT_TRUE(std::isnan(out[2]));
    EXPECT_EQ(out[3], 1.0f);
    EXPECT_EQ(out[4], 0.0f);
    EXPECT_EQ(out[5], INFINITY);
    EXPECT_NEAR(out[6], static_cast<float>(std::exp(-100.0)), 1.5e-45);  // subnormal: within one subnormal step
  }
  // tanh (through the kernel), including tiny arguments where 1 - 2/(e^2x + 1) would cancel.
  {
    Vec x = grid(-12.0, 12.0, n - 1), y(n - 1);
    x.push_back(3e-30f);
    y.push_back(0.0f);
    tanh_forward(pool(), y.data(), x.data(), n);
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (x[i] != 0.0f) worst = std::max(worst, std::abs(y[i] / std::tanh(double(x[i])) - 1));
    EXPECT_LE(worst, 1e-6) << "tanh";
  }
  // GELU and its derivative; relative accuracy holds deep into the negative tail.
  {
    Vec x = grid(-12.0, 12.0, n), y(n), g(n, 0.0f), ones(n, 1.0f);
    gelu_forward(pool(), y.data(), x.data(), n);
    gelu_backward(pool(), g.data(), x.data(), ones.data(), n);
    double worst = 0, worst_grad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double xi = x[i];
      if (xi != 0.0) worst = std::max(worst, std::abs(y[i] / gelu_ref(xi) - 1));
      // gelu' = Phi + x·phi crosses zero near x = -0.75: measure error against the size of its terms.
      const double phi_term = std::abs(xi) * std::exp(-0.5 * xi * xi) / std::sqrt(2 * M_PI);
      const double cond = 0.5 * std::erfc(-xi / std::sqrt(2.0)) + phi_term;
      worst_grad = std::max(worst_grad, std::abs(g[i] - gelu_grad_ref(xi)) / cond);
    }
    EXPECT_LE(worst, 1e-6) << "gelu";
    EXPECT_LE(worst_grad, 1e-6) << "gelu'";
    Vec s = {0.0f, INFINITY, 40.0f, -40.0f}, o(4);
    gelu_forward(pool(), o.data(), s.data(), 4);
    EXPECT_EQ(o[0], 0.0f);
    EXPECT_EQ(o[1], INFINITY);
    EXPECT_EQ(o[2], 40.0f);
    EXPECT_EQ(o[3], -0.0f);
  }
}

}  // namespace
}  // namespace strata::backend::cpu
