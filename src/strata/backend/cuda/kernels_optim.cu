// Optimizer updates and norms as CUDA kernels: fused AdamW (with the optional bf16 copy), LAMB's two passes over fixed
// chunks (per-chunk squared norms returned in double, summed by the host in chunk order), and chunked sums of squares.
// The arithmetic is backend/host_optim.cpp's, operation for operation (no FMA contraction: __fmul_rn/__fadd_rn).
#include <cstdint>

#include "strata/backend/cuda/common.cuh"
#include "strata/backend/cuda/launch.h"

namespace strata::backend::cuda {

namespace {

__device__ inline std::uint16_t bf16_round(float x) {
  std::uint32_t u = __float_as_uint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }

__global__ void adamw_k(AdamScalars k, float* p, const float* g, float* m, float* v, std::size_t n,
                        std::uint16_t* p_bf16) {
  STRATA_FOR_EACH(i, n) {
    const float gi = mul(g[i], k.scale);
    float pi = mul(p[i], k.decay);
    const float mi = add(mul(m[i], k.b1), mul(k.omb1, gi));
    const float vi = add(mul(v[i], k.b2), mul(mul(k.omb2, gi), gi));
    const float denom = add(__fdiv_rn(__fsqrt_rn(vi), k.bc2_sqrt), k.eps);
    pi = __fsub_rn(pi, mul(k.step_size, __fdiv_rn(mi, denom)));
    m[i] = mi;
    v[i] = vi;
    p[i] = pi;
    if (p_bf16) p_bf16[i] = bf16_round(pi);
  }
}

__device__ inline float lamb_update(const LambScalars& k, float p, float m, float v) {
  return add(__fdiv_rn(mul(m, k.inv_bc1), add(__fsqrt_rn(mul(v, k.inv_bc2)), k.eps)), mul(k.wd, p));
}

// One block per chunk; threads stride the chunk, partial sums reduced in a fixed tree.
__global__ void lamb_moments_k(LambScalars k, const float* p, const float* g, float* m, float* v, const Chunk* chunks,
                               double* p_sq, double* u_sq) {
  __shared__ double shared[32];
  const Chunk ch = chunks[blockIdx.x];
  double ps = 0.0, us = 0.0;
  for (std::size_t i = ch.b + threadIdx.x; i < ch.e; i += blockDim.x) {
    const float gi = mul(g[i], k.scale);
    const float mi = add(mul(m[i], k.b1), mul(k.omb1, gi));
    const float vi = add(mul(v[i], k.b2), mul(mul(k.omb2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float u = lamb_update(k, p[i], mi, vi);
    ps += static_cast<double>(p[i]) * p[i];
    us += static_cast<double>(u) * u;
  }
  ps = block_sum(ps, shared);
  us = block_sum(us, shared);
  if (threadIdx.x == 0) p_sq[blockIdx.x] = ps, u_sq[blockIdx.x] = us;
}

__global__ void lamb_apply_k(LambScalars k, float* p, const float* m, const float* v, const Chunk* chunks,
                             const float* step, std::uint16_t* p_bf16) {
  const Chunk ch = chunks[blockIdx.x];
  const float lr_r = step[blockIdx.x];
  for (std::size_t i = ch.b + threadIdx.x; i < ch.e; i += blockDim.x) {
    const float pi = __fsub_rn(p[i], mul(lr_r, lamb_update(k, p[i], m[i], v[i])));
    p[i] = pi;
    if (p_bf16) p_bf16[i] = bf16_round(pi);
  }
}

__global__ void sum_squares_k(const SpanChunk* chunks, double* partial) {
  __shared__ double shared[32];
  const SpanChunk ch = chunks[blockIdx.x];
  double s = 0.0;
  for (std::size_t i = threadIdx.x; i < ch.n; i += blockDim.x) s += static_cast<double>(ch.x[i]) * ch.x[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

constexpr int kChunkThreads = 512;

}  // namespace

void adamw(cudaStream_t s, const AdamScalars& k, float* p, const float* g, float* m, float* v, std::size_t n,
           std::uint16_t* p_bf16_out) {
  if (n) adamw_k<<<blocks_for(n), kThreads, 0, s>>>(k, p, g, m, v, n, p_bf16_out);
}
void lamb_moments(cudaStream_t s, const LambScalars& k, const float* p, const float* g, float* m, float* v,
                  const Chunk* chunks, int n_chunks, double* p_sq, double* u_sq) {
  if (n_chunks > 0) lamb_moments_k<<<n_chunks, kChunkThreads, 0, s>>>(k, p, g, m, v, chunks, p_sq, u_sq);
}
void lamb_apply(cudaStream_t s, const LambScalars& k, float* p, const float* m, const float* v, const Chunk* chunks,
                const float* step, int n_chunks, std::uint16_t* p_bf16_out) {
  if (n_chunks > 0) lamb_apply_k<<<n_chunks, kChunkThreads, 0, s>>>(k, p, m, v, chunks, step, p_bf16_out);
}
void sum_squares_chunks(cudaStream_t s, const SpanChunk* chunks, int n_chunks, double* partial) {
  if (n_chunks > 0) sum_squares_k<<<n_chunks, kChunkThreads, 0, s>>>(chunks, partial);
}

}  // namespace strata::backend::cuda
