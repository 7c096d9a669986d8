// Row kernels with parameter reductions: layer norm, linear (GEMM + bias), softmax cross-entropy. Row work is split
// over the pool by rows; parameter gradients (sums over rows) by columns, each column summed in row order by one
// thread, so results are bitwise independent of the thread count.
#include <algorithm>
#include <cmath>

#include "strata/backend/cpu/kernels.h"
#include "strata/backend/cpu/kernels_internal.h"
#include "strata/backend/cpu/vecmath.h"
#include "strata/backend/gemm.h"

namespace strata::backend::cpu {

using detail::parallel_range;
using vec::F8;
using vec::kLanes;

namespace {

constexpr std::size_t kColBlock = 64;  // columns whose running sums stay in registers / L1

// For each column c: acc_a[c] += Σ_n fa(n, c), acc_b[c] += Σ_n x[n, c] (acc_b optional), summed in row order.
// fa receives the row index and a pointer to 8 columns and returns their contribution.
template <typename Fa>
void column_sums(ThreadPool& pool, float* acc_a, float* acc_b, const float* x, std::size_t N, std::size_t C, Fa fa) {
  parallel_range(pool, C, std::max<std::size_t>(kLanes, detail::kGrainFloats / std::max<std::size_t>(N, 1)), kLanes,
                 [&](std::size_t c0, std::size_t c1) {
                   for (std::size_t cb = c0; cb < c1; cb += kColBlock) {
                     const std::size_t w = std::min(kColBlock, c1 - cb);
                     const std::size_t nv = (w + kLanes - 1) / kLanes;
                     F8 sa[kColBlock / kLanes], sb[kColBlock / kLanes];
                     for (std::size_t j = 0; j < nv; ++j) sa[j] = sb[j] = vec::splat(0.0f);
                     for (std::size_t n = 0; n < N; ++n) {
                       const float* row = x + n * C + cb;
                       for (std::size_t j = 0; j < nv; ++j) {
                         const std::size_t r = std::min<std::size_t>(kLanes, w - j * kLanes);
                         const F8 xv = r == kLanes ? vec::load(row + j * kLanes) : vec::load_n(row + j * kLanes, r);
                         if (acc_a) sa[j] += fa(n, cb + j * kLanes, xv, r);
                         sb[j] += xv;
                       }
                     }
                     for (std::size_t j = 0; j < nv; ++j) {
                       const std::size_t r = std::min<std::size_t>(kLanes, w - j * kLanes);
                       for (std::size_t l = 0; l < r; ++l) {
                         if (acc_a) acc_a[cb + j * kLanes + l] += sa[j][l];
                         if (acc_b) acc_b[cb + j * kLanes + l] += sb[j][l];
                       }
                     }
                   }
                 });
}

}  // namespace

void layernorm_forward(ThreadPool& pool, float* out, float* mean, float* rstd, const float* in, const float* w,
                       const float* b, int N, int C, float eps) {
  detail::check_shape("layernorm_forward", N, C);
  if (C == 0) return;
  const std::size_t c = static_cast<std::size_t>(C);
  parallel_range(pool, N, detail::rows_grain(2 * c), 1, [&](std::size_t n0, std::size_t n1) {
    for (std::size_t n = n0; n < n1; ++n) {
      const float* x = in + n * c;
      float* o = out + n * c;
      std::size_t i;
      F8 s = vec::splat(0.0f);
      for (i = 0; i + kLanes <= c; i += kLanes) s += vec::load(x + i);
      if (i < c) s += vec::load_n(x + i, c - i);
      const float m = vec::hsum(s) / C;
      // Two passes (mean, then squared deviations): no cancellation for rows far from zero.
      F8 ss = vec::splat(0.0f);
      const F8 mv = vec::splat(m);
      for (i = 0; i + kLanes <= c; i += kLanes) {
        F8 d = vec::load(x + i) - mv;
        ss += d * d;
      }
      if (i < c) {
        F8 d = vec::select(vec::lanes_below(c - i), vec::load_n(x + i, c - i) - mv, vec::splat(0.0f));
        ss += d * d;
      }
      const float rs = 1.0f / std::sqrt(vec::hsum(ss) / C + eps);
      mean[n] = m;
      rstd[n] = rs;
      const F8 rv = vec::splat(rs);
      for (i = 0; i + kLanes <= c; i += kLanes)
        vec::store(o + i, vec::fma((vec::load(x + i) - mv) * rv, vec::load(w + i), vec::load(b + i)));
      if (i < c) {
        const std::size_t r = c - i;
        vec::store_n(o + i, vec::fma((vec::load_n(x + i, r) - mv) * rv, vec::load_n(w + i, r), vec::load_n(b + i, r)),
                     r);
      }
    }
  });
}

void layernorm_backward(ThreadPool& pool, float* din, float* dw, float* db, const float* dout, const float* in,
                        const float* w, const float* mean, const float* rstd, int N, int C) {
  detail::check_shape("layernorm_backward", N, C);
  if (C == 0 || N == 0) return;
  const std::size_t c = static_cast<std::size_t>(C);
  // din = rstd·(dnorm - mean(dnorm) - xhat·mean(dnorm·xhat)), dnorm = dout·w, xhat = (x - mean)·rstd.
  parallel_range(pool, N, detail::rows_grain(3 * c), 1, [&](std::size_t n0, std::size_t n1) {
    for (std::size_t n = n0; n < n1; ++n) {
      const float* x = in + n * c;
      const float* d = dout + n * c;
      float* g = din + n * c;
      const F8 mv = vec::splat(mean[n]), rv = vec::splat(rstd[n]);
      F8 s1 = vec::splat(0.0f), s2 = vec::splat(0.0f);
      std::size_t i;
      for (i = 0; i + kLanes <= c; i += kLanes) {
        const F8 dn = vec::load(d + i) * vec::load(w + i);
        s1 += dn;
        s2 += dn * ((vec::load(x + i) - mv) * rv);
      }
      if (i < c) {
        const std::size_t r = c - i;
        const F8 dn = vec::load_n(d + i, r) * vec::load_n(w + i, r);  // zero in the padding lanes
        s1 += dn;
        s2 += dn * ((vec::load_n(x + i, r) - mv) * rv);
      }
      const F8 m1 = vec::splat(vec::hsum(s1) / C), m2 = vec::splat(vec::hsum(s2) / C);
      for (i = 0; i + kLanes <= c; i += kLanes) {
        const F8 dn = vec::load(d + i) * vec::load(w + i);
        const F8 xh = (vec::load(x + i) - mv) * rv;
        vec::store(g + i, vec::load(g + i) + (dn - m1 - xh * m2) * rv);
      }
      if (i < c) {
        const std::size_t r = c - i;
        const F8 dn = vec::load_n(d + i, r) * vec::load_n(w + i, r);
        const F8 xh = (vec::load_n(x + i, r) - mv) * rv;
        vec::store_n(g + i, vec::load_n(g + i, r) + (dn - m1 - xh * m2) * rv, r);
      }
    }
  });
  // dw += Σ_n dout·xhat, db += Σ_n dout.
  column_sums(pool, dw, db, dout, N, c, [&](std::size_t n, std::size_t col, F8 dv, std::size_t r) {
    const float* x = in + n * c + col;
    const F8 xv = r == kLanes ? vec::load(x) : vec::load_n(x, r);
    return dv * ((xv - mean[n]) * rstd[n]);
  });
}

void linear_forward(ThreadPool& pool, float* out, const float* in, const float* w, const float* b, int N, int IC,
                    int OC) {
  detail::check_shape("linear_forward", N, IC, OC);
  if (N == 0 || OC == 0) return;
  const std::size_t oc = static_cast<std::size_t>(OC);
  // Bias first, then GEMM with beta = 1: out = b + in·wᵀ as torch.addmm, without a second pass over out.
  if (b) {
    parallel_range(pool, N, detail::rows_grain(oc), 1, [&](std::size_t n0, std::size_t n1) {
      for (std::size_t n = n0; n < n1; ++n) std::copy(b, b + oc, out + n * oc);
    });
  } else if (IC == 0) {
    std::fill(out, out + static_cast<std::size_t>(N) * oc, 0.0f);
  }
  if (IC == 0) return;
  sgemm(false, true, N, OC, IC, 1.0f, in, IC, w, IC, b ? 1.0f : 0.0f, out, OC);
}

void linear_backward(ThreadPool& pool, float* din, float* dw, float* db, const float* dout, const float* in,
                     const float* w, int N, int IC, int OC) {
  detail::check_shape("linear_backward", N, IC, OC);
  if (N == 0 || OC == 0) return;
  if (IC > 0) {
    if (din) sgemm(false, false, N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, din, IC);  // (N,IC) += (N,OC)·(OC,IC)
    sgemm(true, false, OC, IC, N, 1.0f, dout, OC, in, IC, 1.0f, dw, IC);            // (OC,IC) += (OC,N)·(N,IC)
  }
  if (db) column_sums(pool, nullptr, db, dout, N, OC, [](std::size_t, std::size_t, F8, std::size_t) { return F8{}; });
}

void softmax_xent_forward(ThreadPool& pool, float* losses, float* probs, const float* logits,
                          const std::int32_t* labels, int B, int K) {
  detail::check_shape("softmax_xent_forward", B, K);
  if (B > 0 && K == 0) bad_input("softmax_xent_forward: need at least one class, got K = 0");
  for (int b = 0; b < B; ++b)
    if (labels[b] < 0 || labels[b] >= K)
      bad_input("softmax_xent_forward: label ", labels[b], " of row ", b, " is outside [0, ", K, ")");
  const std::size_t k = static_cast<std::size_t>(K);
  parallel_range(pool, B, detail::rows_grain(2 * k), 1, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      float* p = probs + b * k;
      std::copy(logits + b * k, logits + (b + 1) * k, p);
      float mx;
      const float sum = vec::softmax_row(p, k, &mx);
      // Log-sum-exp form: exact for a confident wrong prediction whose probability underflows.
      losses[b] = std::log(sum) - (logits[b * k + labels[b]] - mx);
    }
  });
}

void softmax_xent_backward(ThreadPool& pool, float* dlogits, const float* probs, const std::int32_t* labels, int B,
                           int K, float scale) {
  detail::check_shape("softmax_xent_backward", B, K);
  for (int b = 0; b < B; ++b)
    if (labels[b] < 0 || labels[b] >= K)
      bad_input("softmax_xent_backward: label ", labels[b], " of row ", b, " is outside [0, ", K, ")");
  const std::size_t k = static_cast<std::size_t>(K);
  parallel_range(pool, B, detail::rows_grain(2 * k), 1, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      const float* p = probs + b * k;
      float* g = dlogits + b * k;
      const std::size_t y = static_cast<std::size_t>(labels[b]);
      for (std::size_t j = 0; j < k; ++j) g[j] += scale * (j == y ? p[j] - 1.0f : p[j]);
    }
  });
}

void xent_chunk_forward(ThreadPool& pool, float* stats, std::int32_t* best_idx, const float* logits,
                        const std::int32_t* labels, int M, int Vc, int v0) {
  detail::check_shape("xent_chunk_forward", M, Vc, v0);
  const std::size_t k = static_cast<std::size_t>(Vc);
  parallel_range(pool, M, detail::rows_grain(k), 1, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const float* row = logits + r * k;
      float* st = stats + 4 * r;
      std::size_t arg = 0;  // the chunk's first maximal column
      for (std::size_t j = 1; j < k; ++j) arg = row[j] > row[arg] ? j : arg;
      const float cmax = k ? row[arg] : -INFINITY;
      const float mx = std::max(st[0], cmax);
      F8 s = vec::splat(0.0f);
      const F8 mv = vec::splat(mx);
      std::size_t j = 0;
      for (; j + kLanes <= k; j += kLanes) s += vec::exp(vec::load(row + j) - mv);
      if (j < k) s += vec::select(vec::lanes_below(k - j), vec::exp(vec::load_n(row + j, k - j) - mv), vec::splat(0.0f));
      st[1] = (st[0] == -INFINITY ? 0.0f : st[1] * std::exp(st[0] - mx)) + vec::hsum(s);
      st[0] = mx;
      const std::int64_t y = static_cast<std::int64_t>(labels[r]) - v0;
      if (y >= 0 && y < static_cast<std::int64_t>(k)) st[2] = row[y];
      if (k && cmax > st[3]) st[3] = cmax, best_idx[r] = static_cast<std::int32_t>(v0 + arg);
    }
  });
}

void xent_chunk_backward(ThreadPool& pool, float* dlogits, const float* logits, const float* lse,
                         const std::int32_t* labels, int M, int Vc, int v0, float scale) {
  detail::check_shape("xent_chunk_backward", M, Vc, v0);
  const std::size_t k = static_cast<std::size_t>(Vc);
  parallel_range(pool, M, detail::rows_grain(2 * k), 1, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const float* row = logits + r * k;
      float* g = dlogits + r * k;
      const F8 l = vec::splat(lse[r]), sc = vec::splat(scale);
      std::size_t j = 0;
      for (; j + kLanes <= k; j += kLanes) vec::store(g + j, vec::exp(vec::load(row + j) - l) * sc);
      if (j < k) vec::store_n(g + j, vec::exp(vec::load_n(row + j, k - j) - l) * sc, k - j);
      const std::int64_t y = static_cast<std::int64_t>(labels[r]) - v0;
      if (y >= 0 && y < static_cast<std::int64_t>(k)) g[y] -= scale;
    }
  });
}

}  // namespace strata::backend::cpu
