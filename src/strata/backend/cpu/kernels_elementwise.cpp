// Element-wise and gather kernels: embeddings, GELU, dropout, residual, tanh, [CLS] gather. Element-wise work is
// split over the pool in 8-aligned parts; reductions into shared gradients (embedding tables) are split by column,
// so each gradient element is summed in row order by exactly one thread.
#include <cstring>

#include "strata/backend/cpu/kernels.h"
#include "strata/backend/cpu/kernels_internal.h"
#include "strata/backend/cpu/vecmath.h"

namespace strata::backend::cpu {

using detail::kGrainFloats;
using detail::parallel_range;
using vec::F8;
using vec::kLanes;

namespace {

// out[i] = f(in[i]) over 8-lane blocks; the global tail goes through the same f with zero-padded lanes.
template <typename F>
void map1(ThreadPool& pool, float* out, const float* in, std::size_t n, F f) {
  parallel_range(pool, n, kGrainFloats, kLanes, [&](std::size_t b, std::size_t e) {
    std::size_t i = b;
    for (; i + kLanes <= e; i += kLanes) vec::store(out + i, f(vec::load(in + i), i));
    if (i < e) vec::store_n(out + i, f(vec::load_n(in + i, e - i), i), e - i);
  });
}

// acc[i] += f(x[i], y[i]).
template <typename F>
void accumulate2(ThreadPool& pool, float* acc, const float* x, const float* y, std::size_t n, F f) {
  parallel_range(pool, n, kGrainFloats, kLanes, [&](std::size_t b, std::size_t e) {
    std::size_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      vec::store(acc + i, vec::load(acc + i) + f(vec::load(x + i), vec::load(y + i), i));
    if (i < e) {
      std::size_t r = e - i;
      vec::store_n(acc + i, vec::load_n(acc + i, r) + f(vec::load_n(x + i, r), vec::load_n(y + i, r), i), r);
    }
  });
}

// dst[0..n) += src[0..n).
inline void add_row(float* dst, const float* src, std::size_t n) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vec::store(dst + i, vec::load(dst + i) + vec::load(src + i));
  for (; i < n; ++i) dst[i] += src[i];
}

void check_dropout_p(const char* op, float p) {
  if (!(p >= 0.0f && p <= 1.0f)) bad_input(op, ": dropout probability must be in [0, 1], got ", p);
}

}  // namespace

void embedding_forward(ThreadPool& pool, float* out, const std::int32_t* ids, const std::int32_t* segs,
                       const float* wte, const float* wpe, const float* wse, int B, int T, int C) {
  detail::check_shape("embedding_forward", B, T, C);
  const std::size_t rows = static_cast<std::size_t>(B) * T;
  parallel_range(pool, rows, detail::rows_grain(3 * static_cast<std::size_t>(C)), 1,
                 [&](std::size_t r0, std::size_t r1) {
                   for (std::size_t r = r0; r < r1; ++r) {
                     const int t = static_cast<int>(r % T);
                     const std::int32_t id = ids[r];
                     const std::int32_t seg = segs ? segs[r] : 0;
                     if (id < 0) bad_input("embedding_forward: token id ", id, " at position ", r, " is negative");
                     if (seg < 0) bad_input("embedding_forward: segment id ", seg, " at position ", r, " is negative");
                     const float* te = wte + static_cast<std::size_t>(id) * C;
                     const float* pe = wpe + static_cast<std::size_t>(t) * C;
                     const float* se = wse ? wse + static_cast<std::size_t>(seg) * C : nullptr;
                     float* o = out + r * C;
                     // Hugging Face adds (token + segment) first, then position.
                     int c = 0;
                     if (se) {
                       for (; c + kLanes <= C; c += kLanes)
                         vec::store(o + c, (vec::load(te + c) + vec::load(se + c)) + vec::load(pe + c));
                       for (; c < C; ++c) o[c] = (te[c] + se[c]) + pe[c];
                     } else {
                       for (; c + kLanes <= C; c += kLanes) vec::store(o + c, vec::load(te + c) + vec::load(pe + c));
                       for (; c < C; ++c) o[c] = te[c] + pe[c];
                     }
                   }
                 });
}

void embedding_backward(ThreadPool& pool, float* dwte, float* dwpe, float* dwse, const float* dout,
                        const std::int32_t* ids, const std::int32_t* segs, int B, int T, int C) {
  detail::check_shape("embedding_backward", B, T, C);
  const std::size_t rows = static_cast<std::size_t>(B) * T;
  if (rows == 0) return;
  // Repeated ids add into the same row of dwte, so threads own column ranges instead of rows.
  parallel_range(pool, C, detail::rows_grain(3 * rows), kLanes, [&](std::size_t c0, std::size_t c1) {
    const std::size_t w = c1 - c0;
    for (std::size_t r = 0; r < rows; ++r) {
      const int t = static_cast<int>(r % T);
      const float* d = dout + r * C + c0;
      if (ids[r] < 0) bad_input("embedding_backward: token id ", ids[r], " at position ", r, " is negative");
      add_row(dwte + static_cast<std::size_t>(ids[r]) * C + c0, d, w);
      add_row(dwpe + static_cast<std::size_t>(t) * C + c0, d, w);
      if (dwse) {
        const std::int32_t seg = segs ? segs[r] : 0;
        if (seg < 0) bad_input("embedding_backward: segment id ", seg, " at position ", r, " is negative");
        add_row(dwse + static_cast<std::size_t>(seg) * C + c0, d, w);
      }
    }
  });
}

void gelu_forward(ThreadPool& pool, float* out, const float* in, std::size_t N) {
  map1(pool, out, in, N, [](F8 x, std::size_t) { return x * vec::normal_cdf(x); });
}

void gelu_backward(ThreadPool& pool, float* din, const float* in, const float* dout, std::size_t N) {
  accumulate2(pool, din, in, dout, N, [](F8 x, F8 d, std::size_t) {
    F8 cdf, pdf;
    vec::normal_cdf_pdf(x, cdf, pdf);
    return d * vec::fma(x, pdf, cdf);  // d/dx x·Phi(x) = Phi(x) + x·phi(x)
  });
}

void dropout_forward(ThreadPool& pool, float* out, const float* in, std::size_t N, float p, std::uint64_t key) {
  check_dropout_p("dropout_forward", p);
  if (p == 0.0f) {
    if (out != in && N > 0) std::memcpy(out, in, N * sizeof(float));
    return;
  }
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  map1(pool, out, in, N,
       [&](F8 x, std::size_t i) { return vec::select(vec::philox_drop_mask(key, i, p), vec::splat(0.0f), x * scale); });
}

void dropout_backward(ThreadPool& pool, float* din, const float* dout, std::size_t N, float p, std::uint64_t key) {
  check_dropout_p("dropout_backward", p);
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  if (p == 0.0f) {
    accumulate2(pool, din, dout, dout, N, [](F8 d, F8, std::size_t) { return d; });
    return;
  }
  accumulate2(pool, din, dout, dout, N, [&](F8 d, F8, std::size_t i) {
    return vec::select(vec::philox_drop_mask(key, i, p), vec::splat(0.0f), d * scale);
  });
}

void residual_forward(ThreadPool& pool, float* out, const float* a, const float* b, std::size_t N) {
  parallel_range(pool, N, kGrainFloats, kLanes, [&](std::size_t i0, std::size_t i1) {
    std::size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) vec::store(out + i, vec::load(a + i) + vec::load(b + i));
    for (; i < i1; ++i) out[i] = a[i] + b[i];
  });
}

void residual_backward(ThreadPool& pool, float* da, float* db, const float* dout, std::size_t N) {
  parallel_range(pool, N, kGrainFloats, kLanes, [&](std::size_t i0, std::size_t i1) {
    add_row(da + i0, dout + i0, i1 - i0);
    add_row(db + i0, dout + i0, i1 - i0);
  });
}

void tanh_forward(ThreadPool& pool, float* out, const float* in, std::size_t N) {
  map1(pool, out, in, N, [](F8 x, std::size_t) { return vec::tanh(x); });
}

void tanh_backward(ThreadPool& pool, float* din, const float* out, const float* dout, std::size_t N) {
  accumulate2(pool, din, out, dout, N, [](F8 y, F8 d, std::size_t) { return d * (1.0f - y * y); });
}

void gather_cls_forward(ThreadPool&, float* out, const float* in, int B, int T, int C) {
  detail::check_shape("gather_cls_forward", B, T, C);
  if (T == 0 && B > 0) bad_input("gather_cls_forward: sequence length T must be positive");
  for (int b = 0; b < B; ++b)
    std::memcpy(out + static_cast<std::size_t>(b) * C, in + static_cast<std::size_t>(b) * T * C, C * sizeof(float));
}

void gather_cls_backward(ThreadPool&, float* din, const float* dout, int B, int T, int C) {
  detail::check_shape("gather_cls_backward", B, T, C);
  if (T == 0 && B > 0) bad_input("gather_cls_backward: sequence length T must be positive");
  for (int b = 0; b < B; ++b)
    add_row(din + static_cast<std::size_t>(b) * T * C, dout + static_cast<std::size_t>(b) * C, C);
}

}  // namespace strata::backend::cpu
