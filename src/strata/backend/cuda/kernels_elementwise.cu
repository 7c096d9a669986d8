// Element-wise CUDA kernels: GELU (erf), dropout with the counter-based mask of core/philox.h (the CPU's function),
// residual, tanh, bf16 conversions, [CLS] gather, bias rows and packed row copies. Backwards accumulate (+=).
#include <cstdint>

#include "strata/backend/cuda/common.cuh"
#include "strata/backend/cuda/launch.h"
#include "strata/core/philox.h"

namespace strata::backend::cuda {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;

__global__ void gelu_fwd(float* out, const float* in, std::size_t n) {
  STRATA_FOR_EACH(i, n) {
    const float x = in[i];
    out[i] = x * 0.5f * (1.0f + erff(x * kInvSqrt2));
  }
}
__global__ void gelu_bwd(float* din, const float* in, const float* dout, std::size_t n) {
  STRATA_FOR_EACH(i, n) {
    const float x = in[i];
    const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2)), pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
    din[i] += dout[i] * fmaf(x, pdf, cdf);  // d/dx x·Phi(x) = Phi(x) + x·phi(x)
  }
}
// out = in·keep or 0 (accumulate: out += ...).
template <bool kAccumulate>
__global__ void dropout_k(float* out, const float* in, std::size_t n, float p, float scale, std::uint64_t key) {
  STRATA_FOR_EACH(i, n) {
    const float y = (p > 0.0f && philox_dropped(key, i, p)) ? 0.0f : in[i] * scale;
    if (kAccumulate)
      out[i] += y;
    else
      out[i] = y;
  }
}
__global__ void add_k(float* out, const float* a, const float* b, std::size_t n) {
  STRATA_FOR_EACH(i, n) out[i] = a[i] + b[i];
}
__global__ void residual_bwd(float* da, float* db, const float* dout, std::size_t n) {
  STRATA_FOR_EACH(i, n) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}
__global__ void tanh_fwd(float* out, const float* in, std::size_t n) { STRATA_FOR_EACH(i, n) out[i] = tanhf(in[i]); }
__global__ void tanh_bwd(float* din, const float* out, const float* dout, std::size_t n) {
  STRATA_FOR_EACH(i, n) din[i] += dout[i] * (1.0f - out[i] * out[i]);
}
// Round to nearest even; NaN stays a quiet NaN (core/tensor.h's f32_to_bf16).
__global__ void to_bf16(std::uint16_t* out, const float* in, std::size_t n) {
  STRATA_FOR_EACH(i, n) {
    std::uint32_t u = __float_as_uint(in[i]);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      out[i] = static_cast<std::uint16_t>((u >> 16) | 0x0040u);
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);
      out[i] = static_cast<std::uint16_t>(u >> 16);
    }
  }
}
__global__ void from_bf16(float* out, const std::uint16_t* in, std::size_t n) {
  STRATA_FOR_EACH(i, n) out[i] = __uint_as_float(static_cast<std::uint32_t>(in[i]) << 16);
}
// (B, C) <-> row 0 of each sequence of (B, T, C).
__global__ void cls_k(float* out, const float* in, int B, int T, int C, bool backward) {
  const std::size_t n = static_cast<std::size_t>(B) * C;
  STRATA_FOR_EACH(i, n) {
    const std::size_t b = i / C, c = i % C, row0 = b * T * C + c;
    if (backward)
      out[row0] += in[i];
    else
      out[i] = in[row0];
  }
}
__global__ void fill_rows_k(float* out, const float* b, int N, int OC) {
  const std::size_t n = static_cast<std::size_t>(N) * OC;
  STRATA_FOR_EACH(i, n) out[i] = b ? b[i % OC] : 0.0f;
}
// Row copies in units of T (4-byte words when rows allow, else bytes).
template <typename T, bool kScatter>
__global__ void rows_k(T* dst, const T* src, const std::int32_t* rows, std::size_t n_rows, std::size_t row_units) {
  const std::size_t n = n_rows * row_units;
  STRATA_FOR_EACH(i, n) {
    const std::size_t r = i / row_units, u = i % row_units, placed = static_cast<std::size_t>(rows[r]) * row_units + u;
    if (kScatter)
      dst[placed] = src[i];
    else
      dst[i] = src[placed];
  }
}

}  // namespace

void gelu_forward(cudaStream_t s, float* out, const float* in, std::size_t n) {
  if (n) gelu_fwd<<<blocks_for(n), kThreads, 0, s>>>(out, in, n);
}
void gelu_backward(cudaStream_t s, float* din, const float* in, const float* dout, std::size_t n) {
  if (n) gelu_bwd<<<blocks_for(n), kThreads, 0, s>>>(din, in, dout, n);
}
void dropout_forward(cudaStream_t s, float* out, const float* in, std::size_t n, float p, std::uint64_t key) {
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  if (n) dropout_k<false><<<blocks_for(n), kThreads, 0, s>>>(out, in, n, p, p > 0.0f ? scale : 1.0f, key);
}
void dropout_backward(cudaStream_t s, float* din, const float* dout, std::size_t n, float p, std::uint64_t key) {
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  if (n) dropout_k<true><<<blocks_for(n), kThreads, 0, s>>>(din, dout, n, p, p > 0.0f ? scale : 1.0f, key);
}
void residual_forward(cudaStream_t s, float* out, const float* a, const float* b, std::size_t n) {
  if (n) add_k<<<blocks_for(n), kThreads, 0, s>>>(out, a, b, n);
}
void residual_backward(cudaStream_t s, float* da, float* db, const float* dout, std::size_t n) {
  if (n) residual_bwd<<<blocks_for(n), kThreads, 0, s>>>(da, db, dout, n);
}
void tanh_forward(cudaStream_t s, float* out, const float* in, std::size_t n) {
  if (n) tanh_fwd<<<blocks_for(n), kThreads, 0, s>>>(out, in, n);
}
void tanh_backward(cudaStream_t s, float* din, const float* out, const float* dout, std::size_t n) {
  if (n) tanh_bwd<<<blocks_for(n), kThreads, 0, s>>>(din, out, dout, n);
}
void f32_to_bf16(cudaStream_t s, std::uint16_t* out, const float* in, std::size_t n) {
  if (n) to_bf16<<<blocks_for(n), kThreads, 0, s>>>(out, in, n);
}
void bf16_to_f32(cudaStream_t s, float* out, const std::uint16_t* in, std::size_t n) {
  if (n) from_bf16<<<blocks_for(n), kThreads, 0, s>>>(out, in, n);
}
void gather_cls_forward(cudaStream_t s, float* out, const float* in, int B, int T, int C) {
  if (B > 0 && C > 0) cls_k<<<blocks_for(std::size_t(B) * C), kThreads, 0, s>>>(out, in, B, T, C, false);
}
void gather_cls_backward(cudaStream_t s, float* din, const float* dout, int B, int T, int C) {
  if (B > 0 && C > 0) cls_k<<<blocks_for(std::size_t(B) * C), kThreads, 0, s>>>(din, dout, B, T, C, true);
}
void fill_rows(cudaStream_t s, float* out, const float* b, int N, int OC) {
  if (N > 0 && OC > 0) fill_rows_k<<<blocks_for(std::size_t(N) * OC), kThreads, 0, s>>>(out, b, N, OC);
}
void gather_rows(cudaStream_t s, void* dst, const void* src, const std::int32_t* rows, std::size_t n_rows,
                 std::size_t row_bytes) {
  if (!n_rows || !row_bytes) return;
  if (row_bytes % 4 == 0)
    rows_k<std::uint32_t, false><<<blocks_for(n_rows * row_bytes / 4), kThreads, 0, s>>>(
        static_cast<std::uint32_t*>(dst), static_cast<const std::uint32_t*>(src), rows, n_rows, row_bytes / 4);
  else
    rows_k<unsigned char, false><<<blocks_for(n_rows * row_bytes), kThreads, 0, s>>>(
        static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), rows, n_rows, row_bytes);
}
void scatter_rows(cudaStream_t s, void* dst, const void* src, const std::int32_t* rows, std::size_t n_rows,
                  std::size_t row_bytes) {
  if (!n_rows || !row_bytes) return;
  if (row_bytes % 4 == 0)
    rows_k<std::uint32_t, true><<<blocks_for(n_rows * row_bytes / 4), kThreads, 0, s>>>(
        static_cast<std::uint32_t*>(dst), static_cast<const std::uint32_t*>(src), rows, n_rows, row_bytes / 4);
  else
    rows_k<unsigned char, true><<<blocks_for(n_rows * row_bytes), kThreads, 0, s>>>(
        static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), rows, n_rows, row_bytes);
}

}  // namespace strata::backend::cuda
