// Conformance of a backend's GEMM-like operations through Backend&: sgemm and sgemm_strided_batched (every transpose,
// padded leading dimensions, gaps between batch matrices), linear, attention (key mask, dropout from the documented
// counter-based key), embedding and layernorm, each forward and backward (which ACCUMULATE into non-zero gradients)
// against the double-precision references below.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "conformance.h"

namespace strata::backend::conformance {
namespace {

class DenseConformance : public Conformance {};

// C = alpha op(A) op(B) + beta C over one matrix, row-major with leading dimensions; padding columns untouched.
void ref_gemm(bool ta, bool tb, int m, int n, int k, double alpha, const float* a, int lda, const float* b, int ldb,
              double beta, double* c, int ldc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int l = 0; l < k; ++l) {
        const double av = ta ? a[static_cast<std::size_t>(l) * lda + i] : a[static_cast<std::size_t>(i) * lda + l];
        const double bv = tb ? b[static_cast<std::size_t>(j) * ldb + l] : b[static_cast<std::size_t>(l) * ldb + j];
        s += av * bv;
      }
      double& cv = c[static_cast<std::size_t>(i) * ldc + j];
      cv = alpha * s + (beta == 0.0 ? 0.0 : beta * cv);
    }
}

struct GemmCase {
  bool ta, tb;
  int m = 13, n = 11, k = 17;
  int lda() const { return (ta ? m : k) + 3; }
  int ldb() const { return (tb ? k : n) + 2; }
  int ldc() const { return n + 5; }
  std::size_t a_floats() const { return static_cast<std::size_t>(ta ? k : m) * lda(); }
  std::size_t b_floats() const { return static_cast<std::size_t>(tb ? n : k) * ldb(); }
  std::size_t c_floats() const { return static_cast<std::size_t>(m) * ldc(); }
};

TEST_P(DenseConformance, SgemmEveryTransposeWithPaddedLeadingDimensions) {
  for (int t = 0; t < 4; ++t) {
    const GemmCase g{(t & 1) != 0, (t & 2) != 0};
    const std::vector<float> a = randn(g.a_floats(), 10 + t), b = randn(g.b_floats(), 20 + t);
    const std::vector<float> c0 = randn(g.c_floats(), 30 + t);
    F32 da(be(), a, Role::kInput, "A"), db(be(), b, Role::kInput, "B"), dc(be(), c0, Role::kInOut, "C");
    be().sgemm(g.ta, g.tb, g.m, g.n, g.k, 0.7f, da.get(), g.lda(), db.get(), g.ldb(), 0.3f, dc.get(), g.ldc());
    std::vector<double> ref = widen(c0);
    ref_gemm(g.ta, g.tb, g.m, g.n, g.k, 0.7, a.data(), g.lda(), b.data(), g.ldb(), 0.3, ref.data(), g.ldc());
    EXPECT_TRUE(
        nmse_below("sgemm ta=" + std::to_string(g.ta) + " tb=" + std::to_string(g.tb), dc.read(), ref, kGemmLike));
    // beta = 0: C is not read (as BLAS), so NaN poison in C must not leak into the result.
    F32 fresh(be(), g.c_floats(), "C (beta 0)");
    be().sgemm(g.ta, g.tb, g.m, g.n, g.k, 1.0f, da.get(), g.lda(), db.get(), g.ldb(), 0.0f, fresh.get(), g.ldc());
    std::vector<float> got = fresh.read();
    std::vector<double> ref0(g.c_floats(), 0.0);
    ref_gemm(g.ta, g.tb, g.m, g.n, g.k, 1.0, a.data(), g.lda(), b.data(), g.ldb(), 0.0, ref0.data(), g.ldc());
    for (int i = 0; i < g.m; ++i)  // the padding columns keep their poison; compare the matrix only
      for (int j = g.n; j < g.ldc(); ++j) got[static_cast<std::size_t>(i) * g.ldc() + j] = 0.0f;
    EXPECT_TRUE(nmse_below("sgemm beta=0", got, ref0, kGemmLike));
  }
}

TEST_P(DenseConformance, SgemmStridedBatchedLeavesTheGapsAlone) {
  const int batch = 3;
  for (int t = 0; t < 4; ++t) {
    const GemmCase g{(t & 1) != 0, (t & 2) != 0, 6, 5, 9};
    const std::ptrdiff_t sa = g.a_floats() + 4, sb = g.b_floats() + 1, sc = g.c_floats() + 7;  // gaps between
    const std::vector<float> a = randn(sa * batch, 40 + t), b = randn(sb * batch, 50 + t);
    const std::vector<float> c0 = randn(sc * batch, 60 + t);
    F32 da(be(), a, Role::kInput, "A"), db(be(), b, Role::kInput, "B"), dc(be(), c0, Role::kInOut, "C");
    be().sgemm_strided_batched(g.ta, g.tb, g.m, g.n, g.k, -1.5f, da.get(), g.lda(), sa, db.get(), g.ldb(), sb, 0.5f,
                               dc.get(), g.ldc(), sc, batch);
    std::vector<double> ref = widen(c0);
    for (int i = 0; i < batch; ++i)
      ref_gemm(g.ta, g.tb, g.m, g.n, g.k, -1.5, a.data() + i * sa, g.lda(), b.data() + i * sb, g.ldb(), 0.5,
               ref.data() + i * sc, g.ldc());
    const std::vector<float> got = dc.read();
    EXPECT_TRUE(nmse_below("sgemm_strided_batched t=" + std::to_string(t), got, ref, kGemmLike));
    for (int i = 0; i < batch; ++i)
      for (std::ptrdiff_t j = g.c_floats(); j < sc; ++j) EXPECT_EQ(got[i * sc + j], c0[i * sc + j]) << "gap " << i;
  }
}

TEST_P(DenseConformance, LinearForwardAndAccumulatingBackward) {
  const int N = 9, IC = 23, OC = 13;
  for (const bool bias : {true, false}) {
    const std::vector<float> x = randn(N * IC, 1), w = randn(OC * IC, 2), b = randn(OC, 3), dy = randn(N * OC, 4);
    const std::vector<float> dx0 = randn(N * IC, 5), dw0 = randn(OC * IC, 6), db0 = randn(OC, 7);
    F32 dx_in(be(), x, Role::kInput, "in"), dw_in(be(), w, Role::kInput, "w"), db_in(be(), b, Role::kInput, "b");
    F32 out(be(), N * OC, "out"), ddy(be(), dy, Role::kInput, "dout");
    F32 dx(be(), dx0, Role::kInOut, "din"), dw(be(), dw0, Role::kInOut, "dw"), db(be(), db0, Role::kInOut, "db");
    be().linear_forward(out.get(), dx_in.get(), dw_in.get(), bias ? db_in.get() : nullptr, N, IC, OC);
    be().linear_backward(dx.get(), dw.get(), bias ? db.get() : nullptr, ddy.get(), dx_in.get(), dw_in.get(), N, IC, OC);
    std::vector<double> ry(N * OC), rdx = widen(dx0), rdw = widen(dw0), rdb = widen(db0);
    for (int r = 0; r < N; ++r)
      for (int o = 0; o < OC; ++o) {
        double s = bias ? b[o] : 0.0;
        for (int i = 0; i < IC; ++i) s += static_cast<double>(x[r * IC + i]) * w[o * IC + i];
        ry[r * OC + o] = s;
        for (int i = 0; i < IC; ++i) {
          rdx[r * IC + i] += static_cast<double>(dy[r * OC + o]) * w[o * IC + i];
          rdw[o * IC + i] += static_cast<double>(dy[r * OC + o]) * x[r * IC + i];
        }
        if (bias) rdb[o] += dy[r * OC + o];
      }
    EXPECT_TRUE(nmse_below("linear_forward", out.read(), ry, kGemmLike));
    EXPECT_TRUE(nmse_below("linear_backward din", dx.read(), rdx, kGemmLike));
    EXPECT_TRUE(nmse_below("linear_backward dw", dw.read(), rdw, kGemmLike));
    EXPECT_TRUE(nmse_below("linear_backward db", db.read(), rdb, kElementwise));
  }
  // din null: only the parameter gradients (the embeddings' input has none).
  const std::vector<float> x = randn(N * IC, 8), w = randn(OC * IC, 9), dy = randn(N * OC, 10);
  F32 dx_in(be(), x, Role::kInput, "in"), dw_in(be(), w, Role::kInput, "w"), ddy(be(), dy, Role::kInput, "dout");
  F32 dw(be(), std::vector<float>(OC * IC, 0.0f), Role::kInOut, "dw");
  be().linear_backward(nullptr, dw.get(), nullptr, ddy.get(), dx_in.get(), dw_in.get(), N, IC, OC);
  std::vector<double> rdw(OC * IC, 0.0);
  for (int r = 0; r < N; ++r)
    for (int o = 0; o < OC; ++o)
      for (int i = 0; i < IC; ++i) rdw[o * IC + i] += static_cast<double>(dy[r * OC + o]) * x[r * IC + i];
  EXPECT_TRUE(nmse_below("linear_backward dw (no din)", dw.read(), rdw, kGemmLike));
}

TEST_P(DenseConformance, LayernormForwardAndAccumulatingBackward) {
  const int N = 7, C = 37;
  const float eps = 1e-5f;
  const std::vector<float> x = randn(N * C, 1, 2.0), w = randn(C, 2), b = randn(C, 3), dy = randn(N * C, 4);
  const std::vector<float> dx0 = randn(N * C, 5), dw0 = randn(C, 6), db0 = randn(C, 7);
  F32 dxi(be(), x, Role::kInput, "in"), dwi(be(), w, Role::kInput, "w"), dbi(be(), b, Role::kInput, "b");
  F32 out(be(), N * C, "out"), mean(be(), N, "mean"), rstd(be(), N, "rstd");
  be().layernorm_forward(out.get(), mean.get(), rstd.get(), dxi.get(), dwi.get(), dbi.get(), N, C, eps);
  std::vector<double> ry(N * C), rmean(N), rrstd(N);
  for (int r = 0; r < N; ++r) {
    double m = 0.0, v = 0.0;
    for (int c = 0; c < C; ++c) m += x[r * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[r * C + c] - m) * (x[r * C + c] - m);
    rmean[r] = m;
    rrstd[r] = 1.0 / std::sqrt(v / C + eps);
    for (int c = 0; c < C; ++c) ry[r * C + c] = (x[r * C + c] - m) * rrstd[r] * w[c] + b[c];
  }
  EXPECT_TRUE(nmse_below("layernorm_forward out", out.read(), ry, kElementwise));
  EXPECT_TRUE(nmse_below("layernorm_forward mean", mean.read(), rmean, kElementwise));
  EXPECT_TRUE(nmse_below("layernorm_forward rstd", rstd.read(), rrstd, kElementwise));

  F32 ddy(be(), dy, Role::kInput, "dout");
  F32 dx(be(), dx0, Role::kInOut, "din"), dw(be(), dw0, Role::kInOut, "dw"), db(be(), db0, Role::kInOut, "db");
  be().layernorm_backward(dx.get(), dw.get(), db.get(), ddy.get(), dxi.get(), dwi.get(), mean.get(), rstd.get(), N, C);
  std::vector<double> rdx = widen(dx0), rdw = widen(dw0), rdb = widen(db0);
  for (int r = 0; r < N; ++r) {
    double g_mean = 0.0, gx_mean = 0.0;
    for (int c = 0; c < C; ++c) {
      const double xhat = (x[r * C + c] - rmean[r]) * rrstd[r], g = static_cast<double>(dy[r * C + c]) * w[c];
      g_mean += g / C;
      gx_mean += g * xhat / C;
      rdw[c] += dy[r * C + c] * xhat;
      rdb[c] += dy[r * C + c];
    }
    for (int c = 0; c < C; ++c) {
      const double xhat = (x[r * C + c] - rmean[r]) * rrstd[r], g = static_cast<double>(dy[r * C + c]) * w[c];
      rdx[r * C + c] += rrstd[r] * (g - g_mean - xhat * gx_mean);
    }
  }
  EXPECT_TRUE(nmse_below("layernorm_backward din", dx.read(), rdx, kElementwise));
  EXPECT_TRUE(nmse_below("layernorm_backward dw", dw.read(), rdw, kElementwise));
  EXPECT_TRUE(nmse_below("layernorm_backward db", db.read(), rdb, kElementwise));
}

TEST_P(DenseConformance, EmbeddingForwardAndAccumulatingBackward) {
  const int B = 2, T = 5, C = 19, V = 7, maxT = 8, S = 2;
  const std::vector<std::int32_t> ids = {3, 0, 6, 3, 3, 1, 6, 2, 0, 5}, segs = {0, 0, 1, 1, 0, 1, 1, 1, 0, 0};
  const std::vector<float> wte = randn(V * C, 1), wpe = randn(maxT * C, 2), wse = randn(S * C, 3);
  const std::vector<float> dy = randn(B * T * C, 4), g_te = randn(V * C, 5), g_pe = randn(maxT * C, 6);
  const std::vector<float> g_se = randn(S * C, 7);
  I32 did(be(), ids, I32::Role::kInput, "ids"), dseg(be(), segs, I32::Role::kInput, "segs");
  F32 dte(be(), wte, Role::kInput, "wte"), dpe(be(), wpe, Role::kInput, "wpe"), dse(be(), wse, Role::kInput, "wse");
  F32 ddy(be(), dy, Role::kInput, "dout");
  for (int mode = 0; mode < 3; ++mode) {  // segments given; no segment ids (segment 0); no segment table
    const std::int32_t* sp = mode == 0 ? dseg.get() : nullptr;
    const bool table = mode < 2;
    F32 out(be(), B * T * C, "out");
    F32 gte(be(), g_te, Role::kInOut, "dwte"), gpe(be(), g_pe, Role::kInOut, "dwpe");
    F32 gse(be(), g_se, Role::kInOut, "dwse");
    be().embedding_forward(out.get(), did.get(), sp, dte.get(), dpe.get(), table ? dse.get() : nullptr, B, T, C);
    be().embedding_backward(gte.get(), gpe.get(), table ? gse.get() : nullptr, ddy.get(), did.get(), sp, B, T, C);
    std::vector<double> ry(B * T * C), rte = widen(g_te), rpe = widen(g_pe), rse = widen(g_se);
    for (int r = 0; r < B * T; ++r) {
      const int t = r % T, seg = mode == 0 ? segs[r] : 0;
      for (int c = 0; c < C; ++c) {
        ry[r * C + c] = double(wte[ids[r] * C + c]) + (table ? double(wse[seg * C + c]) : 0.0) + wpe[t * C + c];
        rte[ids[r] * C + c] += dy[r * C + c];
        rpe[t * C + c] += dy[r * C + c];
        if (table) rse[seg * C + c] += dy[r * C + c];
      }
    }
    const std::string m = " (mode " + std::to_string(mode) + ")";
    EXPECT_TRUE(nmse_below("embedding_forward" + m, out.read(), ry, kElementwise));
    EXPECT_TRUE(nmse_below("embedding_backward dwte" + m, gte.read(), rte, kElementwise));
    EXPECT_TRUE(nmse_below("embedding_backward dwpe" + m, gpe.read(), rpe, kElementwise));
    EXPECT_TRUE(nmse_below("embedding_backward dwse" + m, gse.read(), rse, kElementwise));
  }
}

}  // namespace

STRATA_CONFORMANCE_SUITE(DenseConformance);

}  // namespace strata::backend::conformance
