// Fused AdamW / LAMB and gradient norms over host memory (moved from train/optim.cpp, unchanged arithmetic). Work is
// cut into fixed blocks (independent of the thread count) handed out dynamically, so a busy core does not hold the
// step back; within a block the AVX2 body and the scalar tail compute the same IEEE operations (no FMA contraction
// either way), so an element's result does not depend on where a block boundary falls.
#include "strata/backend/host_optim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "strata/core/error.h"
#include "strata/core/tensor.h"

namespace strata::backend::host {

namespace {

constexpr std::size_t kBlock = std::size_t{1} << 15;      // elements per work item (128 KiB per fp32 array)
constexpr std::size_t kSubBlock = 1024;                   // bf16 copy is written while the block is still in L1
constexpr std::size_t kNormChunk = std::size_t{1} << 16;  // fixed reduction chunk for norms

struct AdamScalars {
  float scale, decay, b1, omb1, b2, omb2, bc2_sqrt, step_size, eps;
};

// Elements [b, e) of one AdamW step.
void adamw_range(const AdamScalars& s, float* p, const float* g, float* m, float* v, std::size_t b, std::size_t e) {
  std::size_t i = b;
#if defined(__AVX2__)
  const __m256 scale = _mm256_set1_ps(s.scale), decay = _mm256_set1_ps(s.decay), b1 = _mm256_set1_ps(s.b1),
               omb1 = _mm256_set1_ps(s.omb1), b2 = _mm256_set1_ps(s.b2), omb2 = _mm256_set1_ps(s.omb2),
               bc2 = _mm256_set1_ps(s.bc2_sqrt), step = _mm256_set1_ps(s.step_size), eps = _mm256_set1_ps(s.eps);
  for (; i + 8 <= e; i += 8) {
    __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), scale);
    __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
    pi = _mm256_sub_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mi, denom)));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, pi);
  }
#endif
  for (; i < e; ++i) {
    float gi = g[i] * s.scale;
    float pi = p[i] * s.decay;
    float mi = m[i] * s.b1 + s.omb1 * gi;
    float vi = v[i] * s.b2 + s.omb2 * gi * gi;
    float denom = std::sqrt(vi) / s.bc2_sqrt + s.eps;
    pi = pi - s.step_size * (mi / denom);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi;
  }
}

double sum_squares_range(const float* x, std::size_t n) {
  std::size_t i = 0;
  double total = 0.0;
#if defined(__AVX2__)
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x0)), d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x0, 1));
    __m256d d2 = _mm256_cvtps_pd(_mm256_castps256_ps128(x1)), d3 = _mm256_cvtps_pd(_mm256_extractf128_ps(x1, 1));
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(d0, d0));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(d1, d1));
    a2 = _mm256_add_pd(a2, _mm256_mul_pd(d2, d2));
    a3 = _mm256_add_pd(a3, _mm256_mul_pd(d3, d3));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
#endif
  for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

struct LambScalars {
  float scale, b1, omb1, b2, omb2, inv_bc1, inv_bc2, eps, wd;
};

// u = (m / bc1) / (sqrt(v / bc2) + eps) + wd * p for already-updated m, v (same formula in both passes).
inline float lamb_update(const LambScalars& s, float p, float m, float v) {
  return (m * s.inv_bc1) / (std::sqrt(v * s.inv_bc2) + s.eps) + s.wd * p;
}

#if defined(__AVX2__)
inline __m256 lamb_update8(const LambScalars& s, __m256 p, __m256 m, __m256 v) {
  __m256 num = _mm256_mul_ps(m, _mm256_set1_ps(s.inv_bc1));
  __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(v, _mm256_set1_ps(s.inv_bc2))), _mm256_set1_ps(s.eps));
  return _mm256_add_ps(_mm256_div_ps(num, den), _mm256_mul_ps(_mm256_set1_ps(s.wd), p));
}
inline __m256d square_sum8(__m256d acc, __m256 x) {
  __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
  return _mm256_add_pd(acc, _mm256_add_pd(_mm256_mul_pd(lo, lo), _mm256_mul_pd(hi, hi)));
}
#endif

// LAMB pass 1 over [b, e): moments, and sums of squares of p (before the step) and of the update.
void lamb_moments_range(const LambScalars& s, const float* p, const float* g, float* m, float* v, std::size_t b,
                        std::size_t e, double& p_sq, double& u_sq) {
  std::size_t i = b;
  double ps = 0.0, us = 0.0;
#if defined(__AVX2__)
  const __m256 scale = _mm256_set1_ps(s.scale), b1 = _mm256_set1_ps(s.b1), omb1 = _mm256_set1_ps(s.omb1),
               b2 = _mm256_set1_ps(s.b2), omb2 = _mm256_set1_ps(s.omb2);
  __m256d pacc = _mm256_setzero_pd(), uacc = _mm256_setzero_pd();
  for (; i + 8 <= e; i += 8) {
    __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), scale);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 pi = _mm256_loadu_ps(p + i);
    pacc = square_sum8(pacc, pi);
    uacc = square_sum8(uacc, lamb_update8(s, pi, mi, vi));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, pacc);
  ps = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  _mm256_store_pd(lanes, uacc);
  us = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
#endif
  for (; i < e; ++i) {
    float gi = g[i] * s.scale;
    float mi = m[i] * s.b1 + s.omb1 * gi;
    float vi = v[i] * s.b2 + s.omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float u = lamb_update(s, p[i], mi, vi);
    ps += static_cast<double>(p[i]) * p[i];
    us += static_cast<double>(u) * u;
  }
  p_sq = ps;
  u_sq = us;
}

// LAMB pass 2 over [b, e): p -= lr * ratio * u, u recomputed from the stored moments.
void lamb_apply_range(const LambScalars& s, float lr_r, float* p, const float* m, const float* v, std::size_t b,
                      std::size_t e) {
  std::size_t i = b;
#if defined(__AVX2__)
  const __m256 step = _mm256_set1_ps(lr_r);
  for (; i + 8 <= e; i += 8) {
    __m256 pi = _mm256_loadu_ps(p + i);
    __m256 u = lamb_update8(s, pi, _mm256_loadu_ps(m + i), _mm256_loadu_ps(v + i));
    _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_mul_ps(step, u)));
  }
#endif
  for (; i < e; ++i) p[i] = p[i] - lr_r * lamb_update(s, p[i], m[i], v[i]);
}

// Scalars are formed in double and rounded once, as PyTorch does with its Python-float hyper-parameters.
AdamScalars adam_scalars(const AdamWParams& hp, std::int64_t step, float grad_scale) {
  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step));
  return AdamScalars{grad_scale,
                     static_cast<float>(1.0 - lr * hp.weight_decay),
                     hp.beta1,
                     static_cast<float>(1.0 - b1),
                     hp.beta2,
                     static_cast<float>(1.0 - b2),
                     static_cast<float>(std::sqrt(bc2)),
                     static_cast<float>(lr / bc1),
                     hp.eps};
}

// Elements [b, e), with the bf16 copy written sub-block by sub-block while still in L1.
void adamw_piece(const AdamScalars& s, float* p, const float* g, float* m, float* v, std::uint16_t* p_bf16_out,
                 std::size_t b, std::size_t e) {
  if (!p_bf16_out) {
    adamw_range(s, p, g, m, v, b, e);
    return;
  }
  for (std::size_t sb = b; sb < e; sb += kSubBlock) {
    const std::size_t se = std::min(e, sb + kSubBlock);
    adamw_range(s, p, g, m, v, sb, se);
    f32_to_bf16(p + sb, p_bf16_out + sb, se - sb);
  }
}

}  // namespace

void adamw_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n, const AdamWParams& hp,
                std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out) {
  STRATA_CHECK(step >= 1, "adamw_step: step is 1-based, got ", step);
  const AdamScalars s = adam_scalars(hp, step, grad_scale);
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  pool.parallel_for(blocks, [&](std::size_t blk) {
    const std::size_t b = blk * kBlock;
    adamw_piece(s, p, g, m, v, p_bf16_out, b, std::min(n, b + kBlock));
  });
}

void adamw_step_pieces(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::span<const Segment> pieces,
                       const AdamWParams& hp, std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out) {
  STRATA_CHECK(step >= 1, "adamw_step_pieces: step is 1-based, got ", step);
  const AdamScalars s = adam_scalars(hp, step, grad_scale);
  // Pieces of at most a block (a long one cut), then work items of consecutive pieces of about a block in all: a
  // scattered row list costs a few work items, not one per row.
  std::vector<Segment> cut;
  for (const Segment& pc : pieces)
    for (std::size_t b = pc.offset, e = pc.offset + pc.size; b < e; b += kBlock)
      cut.push_back({b, std::min(e - b, kBlock)});
  std::vector<std::size_t> first{0};  // item i: cut[first[i], first[i + 1])
  std::size_t load = 0;
  for (std::size_t i = 0; i < cut.size(); ++i) {
    if (load > 0 && load + cut[i].size > kBlock) {
      first.push_back(i);
      load = 0;
    }
    load += cut[i].size;
  }
  first.push_back(cut.size());
  pool.parallel_for(first.size() - 1, [&](std::size_t it) {
    for (std::size_t i = first[it]; i < first[it + 1]; ++i)
      adamw_piece(s, p, g, m, v, p_bf16_out, cut[i].offset, cut[i].offset + cut[i].size);
  });
}

void lamb_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n, const LambParams& hp,
               std::int64_t step, std::span<const Segment> segments, float grad_scale, std::uint16_t* p_bf16_out,
               const CombineNorms& combine) {
  STRATA_CHECK(step >= 1, "lamb_step: step is 1-based, got ", step);
  Segment whole{0, n};
  if (segments.empty()) segments = std::span<const Segment>(&whole, 1);
  std::size_t prev_end = 0;
  for (const Segment& sg : segments) {
    STRATA_CHECK(sg.offset >= prev_end && sg.offset <= n && sg.size <= n - sg.offset, "lamb_step: segment [", sg.offset,
                 ", +", sg.size, ") is out of order, overlapping or outside the slab of ", n);
    prev_end = sg.offset + sg.size;
  }
  const double b1 = hp.beta1, b2 = hp.beta2;
  const double bc1 = hp.bias_correction ? 1.0 - std::pow(b1, static_cast<double>(step)) : 1.0;
  const double bc2 = hp.bias_correction ? 1.0 - std::pow(b2, static_cast<double>(step)) : 1.0;
  const LambScalars s{grad_scale,
                      hp.beta1,
                      static_cast<float>(1.0 - b1),
                      hp.beta2,
                      static_cast<float>(1.0 - b2),
                      static_cast<float>(1.0 / bc1),
                      static_cast<float>(1.0 / bc2),
                      hp.eps,
                      hp.weight_decay};

  // Work items: fixed chunks inside each segment, so partial sums (and thus the ratios) ignore the thread count.
  struct Item {
    std::size_t seg, b, e;
  };
  std::vector<Item> items;
  for (std::size_t si = 0; si < segments.size(); ++si)
    for (std::size_t b = segments[si].offset, e = b + segments[si].size; b < e; b += kNormChunk)
      items.push_back({si, b, std::min(e, b + kNormChunk)});
  std::vector<double> p_sq(items.size()), u_sq(items.size());

  // Pass 1: moments, and the squared norms of p (before the step) and of the update.
  pool.parallel_for(items.size(), [&](std::size_t it) {
    lamb_moments_range(s, p, g, m, v, items[it].b, items[it].e, p_sq[it], u_sq[it]);
  });
  std::vector<float> step_size(segments.size());
  {
    const std::size_t S = segments.size();
    std::vector<double> sq(2 * S, 0.0);  // [||p||² per segment..., ||u||² per segment...]
    for (std::size_t it = 0; it < items.size(); ++it) {
      sq[items[it].seg] += p_sq[it];
      sq[S + items[it].seg] += u_sq[it];
    }
    if (combine) combine(sq);
    for (std::size_t si = 0; si < S; ++si) {
      double pnorm = std::sqrt(sq[si]), unorm = std::sqrt(sq[S + si]);
      double ratio = (pnorm > 0.0 && unorm > 0.0) ? pnorm / unorm : 1.0;
      step_size[si] = static_cast<float>(hp.lr * ratio);
    }
  }
  // Pass 2: p -= lr * ratio * u, recomputing u from the stored moments.
  pool.parallel_for(items.size(), [&](std::size_t it) {
    const float lr_r = step_size[items[it].seg];
    lamb_apply_range(s, lr_r, p, m, v, items[it].b, items[it].e);
    if (p_bf16_out) f32_to_bf16(p + items[it].b, p_bf16_out + items[it].b, items[it].e - items[it].b);
  });
}

namespace {
double total_sum_squares(ThreadPool& pool, std::span<const GradSpan> grads) {
  struct Item {
    const float* x;
    std::size_t n;
  };
  std::vector<Item> items;
  for (const auto& [x, n] : grads)
    for (std::size_t b = 0; b < n; b += kNormChunk) items.push_back({x + b, std::min(kNormChunk, n - b)});
  std::vector<double> partial(items.size());
  pool.parallel_for(items.size(), [&](std::size_t i) { partial[i] = sum_squares_range(items[i].x, items[i].n); });
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}
}  // namespace

double sum_squares(ThreadPool& pool, const float* x, std::size_t n) {
  GradSpan one{x, n};
  return total_sum_squares(pool, std::span<const GradSpan>(&one, 1));
}

double global_grad_norm(ThreadPool& pool, std::span<const GradSpan> grads) {
  return std::sqrt(total_sum_squares(pool, grads));
}

}  // namespace strata::backend::host
