// Multi-head attention with a key padding mask and dropout on the probabilities, as Hugging Face's
// BertSelfAttention. One pool item per (sequence, head) runs the whole head: q·kᵀ, mask, softmax, dropout, ·v (and
// the backward's four products) with a register-tiled head GEMM, so the (T, T) block stays in cache between steps.
#include <algorithm>
#include <cmath>

#include "strata/backend/cpu/kernels.h"
#include "strata/backend/cpu/kernels_internal.h"
#include "strata/backend/cpu/vecmath.h"

namespace strata::backend::cpu {

using vec::F8;
using vec::kLanes;

namespace {

void check_attention(const char* op, int B, int T, int C, int NH, float p) {
  detail::check_shape(op, B, T, C, NH);
  if (NH <= 0 || C % NH != 0)
    bad_input(op, ": the model width C = ", C, " must be a positive multiple of the number of heads NH = ", NH);
  if (!(p >= 0.0f && p <= 1.0f)) bad_input(op, ": attention dropout probability must be in [0, 1], got ", p);
}

// dst[0, n) = row with dropout applied; element j of the row has flat index base + j in the key's stream.
void dropout_row(float* dst, const float* row, std::size_t n, std::uint64_t key, std::uint64_t base, float p,
                 float scale) {
  std::size_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    vec::store(dst + j,
               vec::select(vec::philox_drop_mask(key, base + j, p), vec::splat(0.0f), vec::load(row + j) * scale));
  if (j < n)
    vec::store_n(
        dst + j,
        vec::select(vec::philox_drop_mask(key, base + j, p), vec::splat(0.0f), vec::load_n(row + j, n - j) * scale),
        n - j);
}

// Small single-threaded GEMM for one head: C (M, N) = [C +] alpha · A·B with A(i, k) = a[i*sai + k*sak] (so a
// transposed A is just other strides) and B row-major with row stride ldb. Register tile: 6 rows x 16 columns
// (12 accumulators + 2 B vectors + 1 broadcast of the 16 AVX registers), B rows streamed, A broadcast. Each head is
// computed by one thread in a fixed order, so results do not depend on the thread count. (Per-head products are too
// small for OpenBLAS's threading: through sgemm_strided_batched attention ran 3-5x slower on 2 cores.)
constexpr int kTileM = 6, kTileV = 2, kTileN = kTileV * kLanes;

// One tile; the full-size case is a separate instantiation so its loops unroll into registers.
template <bool kFull>
inline void head_gemm_tile(int mi, int nj, int K, float alpha, const float* a, std::ptrdiff_t sai, std::ptrdiff_t sak,
                           const float* b, std::ptrdiff_t ldb, bool accumulate, float* c, std::ptrdiff_t ldc) {
  const int rows = kFull ? kTileM : mi;
  const int nv = kFull ? kTileV : (nj + kLanes - 1) / kLanes;
  F8 acc[kTileM][kTileV] = {};
  for (int k = 0; k < K; ++k, b += ldb) {
    F8 bv[kTileV] = {};
#pragma GCC unroll 2
    for (int v = 0; v < nv; ++v) {
      const int w = kFull ? kLanes : std::min(kLanes, nj - v * kLanes);
      bv[v] = w == kLanes ? vec::load(b + v * kLanes) : vec::load_n(b + v * kLanes, w);
    }
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) {
      const F8 av = vec::splat(a[r * sai + k * sak]);
#pragma GCC unroll 2
      for (int v = 0; v < nv; ++v) acc[r][v] = vec::fma(av, bv[v], acc[r][v]);
    }
  }
  const F8 al = vec::splat(alpha);
  for (int r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    for (int v = 0; v < nv; ++v) {
      const int w = kFull ? kLanes : std::min(kLanes, nj - v * kLanes);
      if (w == kLanes) {
        vec::store(cr + v * kLanes, accumulate ? vec::fma(al, acc[r][v], vec::load(cr + v * kLanes)) : al * acc[r][v]);
      } else {
        vec::store_n(cr + v * kLanes,
                     accumulate ? vec::fma(al, acc[r][v], vec::load_n(cr + v * kLanes, w)) : al * acc[r][v], w);
      }
    }
  }
}

void head_gemm(int M, int N, int K, float alpha, const float* a, std::ptrdiff_t sai, std::ptrdiff_t sak, const float* b,
               std::ptrdiff_t ldb, bool accumulate, float* c, std::ptrdiff_t ldc) {
  for (int i0 = 0; i0 < M; i0 += kTileM) {
    const int mi = std::min(kTileM, M - i0);
    for (int j0 = 0; j0 < N; j0 += kTileN) {
      const int nj = std::min(kTileN, N - j0);
      if (mi == kTileM && nj == kTileN)
        head_gemm_tile<true>(mi, nj, K, alpha, a + i0 * sai, sai, sak, b + j0, ldb, accumulate, c + i0 * ldc + j0, ldc);
      else
        head_gemm_tile<false>(mi, nj, K, alpha, a + i0 * sai, sai, sak, b + j0, ldb, accumulate, c + i0 * ldc + j0,
                              ldc);
    }
  }
}

// dst (HS, T) = head columns of src (T rows of stride C), transposed.
void transpose_head(float* dst, const float* src, int T, int C, int HS) {
  for (int t = 0; t < T; ++t)
    for (int d = 0; d < HS; ++d) dst[static_cast<std::size_t>(d) * T + t] = src[static_cast<std::size_t>(t) * C + d];
}

}  // namespace

void attention_forward(ThreadPool& pool, float* out, float* probs, const float* q, const float* k, const float* v,
                       const float* key_mask, int B, int T, int C, int NH, float dropout_p, std::uint64_t dropout_key,
                       float* scratch) {
  check_attention("attention_forward", B, T, C, NH, dropout_p);
  if (B == 0 || T == 0 || C == 0) return;
  const int HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const bool drop = dropout_p > 0.0f;
  const float keep_scale = dropout_p < 1.0f ? 1.0f / (1.0f - dropout_p) : 0.0f;
  const std::size_t t = static_cast<std::size_t>(T), tt = t * t, heads = static_cast<std::size_t>(B) * NH;
  float* pd_all = scratch;                   // (B, NH, T, T) probabilities after dropout
  float* panels = scratch + 2 * heads * tt;  // (B, NH, HS, T) k transposed
  pool.parallel_for(heads, [&](std::size_t bh) {
    const std::size_t b = bh / NH, h = bh % NH;
    const std::size_t off = b * t * C + h * HS;  // head h of sequence b in (B, T, C)
    float* kt = panels + bh * HS * t;
    float* p = probs + bh * tt;
    transpose_head(kt, k + off, T, C, HS);
    head_gemm(T, T, HS, scale, q + off, C, 1, kt, T, false, p, T);  // scores = q_h·k_hᵀ / sqrt(HS)
    float* pd = drop ? pd_all + bh * tt : p;
    for (std::size_t i = 0; i < t; ++i) {
      float* row = p + i * t;
      if (key_mask) {
        const float* m = key_mask + b * t;
        std::size_t j = 0;
        for (; j + kLanes <= t; j += kLanes)
          vec::store(row + j, vec::fma(1.0f - vec::load(m + j), vec::splat(kMaskedScore), vec::load(row + j)));
        for (; j < t; ++j) row[j] += (1.0f - m[j]) * kMaskedScore;
      }
      vec::softmax_row(row, t);
      if (drop) dropout_row(pd + i * t, row, t, dropout_key, bh * tt + i * t, dropout_p, keep_scale);
    }
    head_gemm(T, HS, T, 1.0f, pd, T, 1, v + off, C, false, out + off, C);  // out_h = pd·v_h
  });
}

void attention_backward(ThreadPool& pool, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, const float* /*key_mask: already in probs*/,
                        int B, int T, int C, int NH, float dropout_p, std::uint64_t dropout_key, float* scratch) {
  check_attention("attention_backward", B, T, C, NH, dropout_p);
  if (B == 0 || T == 0 || C == 0) return;
  const int HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const bool drop = dropout_p > 0.0f;
  const float keep_scale = dropout_p < 1.0f ? 1.0f / (1.0f - dropout_p) : 0.0f;
  const std::size_t t = static_cast<std::size_t>(T), tt = t * t, heads = static_cast<std::size_t>(B) * NH;
  pool.parallel_for(heads, [&](std::size_t bh) {
    const std::size_t b = bh / NH, h = bh % NH;
    const std::size_t off = b * t * C + h * HS;
    const float* p = probs + bh * tt;
    float* g = scratch + (heads + bh) * tt;              // (T, T) gradient of pd, then of the scores
    float* vt = scratch + 2 * heads * tt + bh * HS * t;  // (HS, T) v_h transposed
    const float* pd = p;                                 // (T, T) probabilities after dropout
    if (drop) {
      float* pdw = scratch + bh * tt;  // regenerated from the key, as the forward drew it
      for (std::size_t i = 0; i < t; ++i)
        dropout_row(pdw + i * t, p + i * t, t, dropout_key, bh * tt + i * t, dropout_p, keep_scale);
      pd = pdw;
    }
    transpose_head(vt, v + off, T, C, HS);
    head_gemm(T, T, HS, 1.0f, dout + off, C, 1, vt, T, false, g, T);        // g = dout_h·v_hᵀ
    head_gemm(T, HS, T, 1.0f, pd, 1, T, dout + off, C, true, dv + off, C);  // dv_h += pdᵀ·dout_h
    // Softmax backward through dropout: with g ⊙ pd (= dP ⊙ P, as pd = P·keep/(1-p) and dP = g·keep/(1-p)),
    // dscores = g ⊙ pd - P·Σ(g ⊙ pd). No mask regeneration is needed here.
    for (std::size_t i = 0; i < t; ++i) {
      const float* pi = p + i * t;
      const float* ai = pd + i * t;
      float* gi = g + i * t;
      F8 s = vec::splat(0.0f);
      std::size_t j;
      for (j = 0; j + kLanes <= t; j += kLanes) {
        const F8 gv = vec::load(ai + j) * vec::load(gi + j);
        vec::store(gi + j, gv);
        s += gv;
      }
      if (j < t) {
        const F8 gv = vec::load_n(ai + j, t - j) * vec::load_n(gi + j, t - j);
        vec::store_n(gi + j, gv, t - j);
        s += gv;
      }
      const F8 sum = vec::splat(vec::hsum(s));
      for (j = 0; j + kLanes <= t; j += kLanes) vec::store(gi + j, vec::load(gi + j) - vec::load(pi + j) * sum);
      if (j < t) vec::store_n(gi + j, vec::load_n(gi + j, t - j) - vec::load_n(pi + j, t - j) * sum, t - j);
    }
    head_gemm(T, HS, T, scale, g, T, 1, k + off, C, true, dq + off, C);  // dq_h += dS·k_h / sqrt(HS)
    head_gemm(T, HS, T, scale, g, 1, T, q + off, C, true, dk + off, C);  // dk_h += dSᵀ·q_h / sqrt(HS)
  });
}

}  // namespace strata::backend::cpu
