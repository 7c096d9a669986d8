// Eight-lane float vectors and fast vector math (exp, tanh, the normal CDF for GELU, a Philox dropout draw) for the
// CPU kernels. GCC vector extensions, so the same code builds for AVX2/FMA (x86-64-v3) and for generic x86-64;
// accuracy: exp, tanh, GELU and GELU' within ~1e-6 relative of the exact functions (tests/backend/kernels_test.cpp).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "strata/core/rng.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#if !defined(__AVX__)
// Portable builds pass 32-byte vectors between inline functions of one translation unit only, so GCC's note that
// their ABI differs from AVX builds does not apply (this header is included by kernel sources only).
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace strata::backend::cpu::vec {

using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));
inline constexpr int kLanes = 8;

// Bit reinterpretation between same-size vector types (a value conversion, no aliasing).
inline I8 as_int(F8 x) { return (I8)x; }
inline F8 as_float(I8 x) { return (F8)x; }
inline F8 splat(float a) { return F8{a, a, a, a, a, a, a, a}; }
inline F8 load(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, F8 v) { std::memcpy(p, &v, sizeof v); }
// First n (< 8) lanes from p, the rest zero: row tails go through the same vector code as full blocks.
inline F8 load_n(const float* p, std::size_t n) {
  F8 v{};
  for (std::size_t i = 0; i < n; ++i) v[i] = p[i];
  return v;
}
inline void store_n(float* p, F8 v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] = v[i];
}
inline F8 select(I8 mask, F8 a, F8 b) { return mask ? a : b; }
// Lanes [0, n) set.
inline I8 lanes_below(std::size_t n) {
  const I8 iota{0, 1, 2, 3, 4, 5, 6, 7};
  return iota < static_cast<std::int32_t>(n);
}
inline F8 vmax(F8 a, F8 b) { return a > b ? a : b; }
inline F8 vabs(F8 x) { return as_float(as_int(x) & 0x7fffffff); }
// Fixed lane order, so a row's sum never depends on anything but the row.
inline float hsum(F8 v) { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }
inline float hmax(F8 v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// a*b + c rounded once (needed for the exact product splits below, not merely for speed).
inline F8 fma(F8 a, F8 b, F8 c) {
#if defined(__FMA__)
  return (F8)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
  F8 r;
  for (int i = 0; i < kLanes; ++i) r[i] = std::fma(a[i], b[i], c[i]);
  return r;
#endif
}

// Round to nearest integer (ties to even), |x| < 2^22.
inline F8 round_nearest(F8 x) {
#if defined(__AVX__)
  return (F8)_mm256_round_ps((__m256)x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
  const F8 magic = splat(12582912.0f);  // 1.5 * 2^23
  return (x + magic) - magic;
#endif
}

// 2^n for integer-valued n in [-126, 127].
inline F8 pow2i(F8 n) { return as_float((__builtin_convertvector(n, I8) + 127) << 23); }

namespace detail {
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;     // few bits, so n * kLn2Hi is exact
inline constexpr float kLn2Lo = -2.12194440e-4f;  // ln 2 - kLn2Hi
inline constexpr float kExpMax = 88.7228391f;     // above: +inf
inline constexpr float kExpMin = -103.972084f;    // below: 0 (smallest subnormal is e^-103.28)

// e^(hi + lo) without rounding hi + lo to float first (|lo| up to a few units; hi carries the large part): Cephes
// expf polynomial on r = (hi - n·ln2) + lo, |r| <~ ln2/2, then 2^n applied in two halves so that subnormal and
// near-overflow results work.
inline F8 exp_hilo(F8 hi, F8 lo) {
  const F8 x = hi + lo;
  // min/max with x second keep a NaN (minps/maxps return the second operand on NaN).
  F8 hc = splat(kExpMax) < hi ? splat(kExpMax) : hi;
  hc = splat(kExpMin) > hc ? splat(kExpMin) : hc;
  const F8 n = round_nearest((hc + lo) * kLog2e);
  F8 r = fma(n, splat(-kLn2Hi), hc) + lo;
  r = fma(n, splat(-kLn2Lo), r);
  F8 p = splat(1.9875691500e-4f);
  p = fma(p, r, splat(1.3981999507e-3f));
  p = fma(p, r, splat(8.3334519073e-3f));
  p = fma(p, r, splat(4.1665795894e-2f));
  p = fma(p, r, splat(1.6666665459e-1f));
  p = fma(p, r, splat(5.0000001201e-1f));
  p = fma(p, r * r, r) + 1.0f;
  const F8 n1 = round_nearest(n * 0.5f - 0.25f);  // floor(n/2) for integer n
  const F8 y = p * pow2i(n1) * pow2i(n - n1);
  F8 out = select(x > kExpMax, splat(INFINITY), y);
  return select(x < kExpMin, splat(0.0f), out);
}
}  // namespace detail

inline F8 exp(F8 x) { return detail::exp_hilo(x, splat(0.0f)); }

// tanh: Cephes' odd polynomial for |x| < 0.625 (no cancellation near 0), 1 - 2/(e^{2|x|} + 1) beyond.
inline F8 tanh(F8 x) {
  const F8 ax = vabs(x);
  const F8 z = x * x;
  F8 p = splat(-5.70498872745e-3f);
  p = fma(p, z, splat(2.06390887954e-2f));
  p = fma(p, z, splat(-5.37397155531e-2f));
  p = fma(p, z, splat(1.33314422036e-1f));
  p = fma(p, z, splat(-3.33332819422e-1f));
  const F8 small = fma(p * z, x, x);
  const F8 e = exp(ax + ax);
  F8 big = 1.0f - 2.0f / (e + 1.0f);
  big = as_float(as_int(big) | (as_int(x) & static_cast<std::int32_t>(0x80000000u)));  // copysign
  return select(ax < 0.625f, small, big);
}

// The standard normal CDF Phi(x) (and density phi(x)), each to ~1e-6 relative, also deep in the lower tail so that
// GELU keeps its relative accuracy for negative x. erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2) (Numerical Recipes'
// Chebyshev fit, fractional error < 1.2e-7); z² = x²/2 is carried as an exact hi + lo pair because rounding z²
// alone would cost z²·6e-8 relative.
namespace detail {
// P(t) - 1.26551223 of the fit, and t.
inline F8 erfc_poly(F8 x, F8& t) {
  const F8 z = vabs(x) * 0.70710678118654752f;
  t = 1.0f / fma(z, splat(0.5f), splat(1.0f));
  F8 p = splat(0.17087277f);
  p = fma(p, t, splat(-0.82215223f));
  p = fma(p, t, splat(1.48851587f));
  p = fma(p, t, splat(-1.13520398f));
  p = fma(p, t, splat(0.27886807f));
  p = fma(p, t, splat(-0.18628806f));
  p = fma(p, t, splat(0.09678418f));
  p = fma(p, t, splat(0.37409196f));
  p = fma(p, t, splat(1.00002368f));
  return fma(p, t, splat(-1.26551223f));
}
// -x²/2 as hi + lo (exact).
inline void neg_half_square(F8 x, F8& hi, F8& lo) {
  const F8 xx = x * x;
  F8 xx_lo = fma(x, x, -xx);
  xx_lo = select(xx < INFINITY, xx_lo, splat(0.0f));  // inf - inf would give NaN for |x| = inf
  hi = -0.5f * xx;
  lo = -0.5f * xx_lo;
}
}  // namespace detail

// Phi(x) alone: one exponential.
inline F8 normal_cdf(F8 x) {
  F8 t, hi, lo;
  const F8 p = detail::erfc_poly(x, t);
  detail::neg_half_square(x, hi, lo);
  const F8 half_erfc = 0.5f * t * detail::exp_hilo(hi, lo + p);  // Phi(-|x|)
  return select(x > 0.0f, 1.0f - half_erfc, half_erfc);
}

inline void normal_cdf_pdf(F8 x, F8& cdf, F8& pdf) {
  F8 t, hi, lo;
  const F8 p = detail::erfc_poly(x, t);
  detail::neg_half_square(x, hi, lo);
  const F8 e = detail::exp_hilo(hi, lo);  // e^{-x²/2}
  const F8 half_erfc = 0.5f * t * e * exp(p);
  cdf = select(x > 0.0f, 1.0f - half_erfc, half_erfc);
  pdf = e * 0.39894228040143268f;
}

// Philox keep test for the eight consecutive elements i0 .. i0+7 of the stream `key`: lane l is dropped (mask lane
// set) exactly when strata::philox_uniform(key, i0 + l) < p, bit for bit as the scalar definition.
inline I8 philox_drop_mask(std::uint64_t key, std::uint64_t i0, float p) {
#if defined(__AVX2__)
  alignas(32) std::uint32_t lo[8], hi[8];
  for (int l = 0; l < 8; ++l) {
    lo[l] = static_cast<std::uint32_t>(i0 + l);
    hi[l] = static_cast<std::uint32_t>((i0 + l) >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  for (int r = 0; r < 10; ++r) {
    // 32x32 -> 64-bit products of even and odd lanes, then split into high and low words.
    __m256i e0 = _mm256_mul_epu32(c0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
    __m256i e1 = _mm256_mul_epu32(c2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
    __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
    __m256i lo0 = _mm256_mullo_epi32(c0, m0);
    __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
    __m256i lo1 = _mm256_mullo_epi32(c2, m1);
    __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(c0, 8)), _mm256_set1_ps(0x1.0p-24f));
  return (F8)u < p;
#else
  I8 m;
  for (int l = 0; l < 8; ++l) m[l] = philox_uniform(key, i0 + l) < p ? -1 : 0;
  return m;
#endif
}

// In-place softmax of row[0, n): max, exp(x - max), scaled by 1/sum. Returns the sum of exponentials (for a
// log-sum-exp) and the max through *max_out.
inline float softmax_row(float* row, std::size_t n, float* max_out = nullptr) {
  F8 m = splat(-INFINITY);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) m = vmax(m, load(row + i));
  float mx = hmax(m);
  for (; i < n; ++i) mx = row[i] > mx ? row[i] : mx;
  if (max_out) *max_out = mx;
  const F8 mv = splat(mx);
  F8 s = splat(0.0f);
  for (i = 0; i + kLanes <= n; i += kLanes) {
    F8 e = exp(load(row + i) - mv);
    store(row + i, e);
    s += e;
  }
  if (i < n) {
    F8 e = select(lanes_below(n - i), exp(load_n(row + i, n - i) - mv), splat(0.0f));
    store_n(row + i, e, n - i);
    s += e;
  }
  const float sum = hsum(s);
  const F8 inv = splat(1.0f / sum);
  for (i = 0; i + kLanes <= n; i += kLanes) store(row + i, load(row + i) * inv);
  if (i < n) store_n(row + i, load_n(row + i, n - i) * inv, n - i);
  return sum;
}

}  // namespace strata::backend::cpu::vec
