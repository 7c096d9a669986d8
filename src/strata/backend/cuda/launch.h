// Launchers of the CUDA backend's kernels (defined in the .cu files of this folder), callable from host code that
// g++ compiles: each queues its kernels on `s` and returns at once. Buffers are device memory (or pinned host memory
// the device can address); shapes follow backend.h's ops. Errors in the data (a negative token id, a label outside
// [0, K)) cannot throw from a kernel: they are written to `err` (a device word), which the backend reads when it
// synchronizes.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace strata::backend::cuda {

// First data error a kernel met: code 0 none, 1 negative token id, 2 negative segment id, 3 label out of range.
struct DeviceError {
  int code;
  long long index;
  long long value;
};

// --- element-wise (kernels_elementwise.cu) ---------------------------------------------------------------------
void gelu_forward(cudaStream_t s, float* out, const float* in, std::size_t n);
void gelu_backward(cudaStream_t s, float* din, const float* in, const float* dout, std::size_t n);  // din +=
// Element i dropped when philox_dropped(key, i, p) (core/philox.h); kept ones scaled by 1/(1-p). p in [0, 1].
void dropout_forward(cudaStream_t s, float* out, const float* in, std::size_t n, float p, std::uint64_t key);
void dropout_backward(cudaStream_t s, float* din, const float* dout, std::size_t n, float p, std::uint64_t key);
void residual_forward(cudaStream_t s, float* out, const float* a, const float* b, std::size_t n);
void residual_backward(cudaStream_t s, float* da, float* db, const float* dout, std::size_t n);
void tanh_forward(cudaStream_t s, float* out, const float* in, std::size_t n);
void tanh_backward(cudaStream_t s, float* din, const float* out, const float* dout, std::size_t n);
void f32_to_bf16(cudaStream_t s, std::uint16_t* out, const float* in, std::size_t n);
void bf16_to_f32(cudaStream_t s, float* out, const std::uint16_t* in, std::size_t n);
void gather_cls_forward(cudaStream_t s, float* out /*(B,C)*/, const float* in /*(B,T,C)*/, int B, int T, int C);
void gather_cls_backward(cudaStream_t s, float* din /*(B,T,C)*/, const float* dout /*(B,C)*/, int B, int T, int C);
// out (N, OC) = b broadcast over rows, or 0 when b is null.
void fill_rows(cudaStream_t s, float* out, const float* b, int N, int OC);
// Packed row copies on the device: gather dst[i] = src[rows[i]], scatter dst[rows[i]] = src[i] (rows on the device).
void gather_rows(cudaStream_t s, void* dst, const void* src, const std::int32_t* rows, std::size_t n_rows,
                 std::size_t row_bytes);
void scatter_rows(cudaStream_t s, void* dst, const void* src, const std::int32_t* rows, std::size_t n_rows,
                  std::size_t row_bytes);

// --- rows and reductions (kernels_dense.cu) --------------------------------------------------------------------
void embedding_forward(cudaStream_t s, float* out /*(B*T,C)*/, const std::int32_t* ids, const std::int32_t* segs,
                       const float* wte, const float* wpe, const float* wse, int B, int T, int C, DeviceError* err);
void embedding_backward(cudaStream_t s, float* dwte, float* dwpe, float* dwse, const float* dout /*(B*T,C)*/,
                        const std::int32_t* ids, const std::int32_t* segs, int B, int T, int C, DeviceError* err);
void layernorm_forward(cudaStream_t s, float* out /*(N,C)*/, float* mean /*(N)*/, float* rstd /*(N)*/,
                       const float* in /*(N,C)*/, const float* w, const float* b, int N, int C, float eps);
void layernorm_backward(cudaStream_t s, float* din, float* dw, float* db, const float* dout, const float* in,
                        const float* w, const float* mean, const float* rstd, int N, int C);
// acc[c] += Σ_n x[n, c] over the rows of x (N, C), in a fixed order (the linear bias gradient).
void column_sums(cudaStream_t s, float* acc /*(C)*/, const float* x /*(N,C)*/, int N, int C);
void softmax_xent_forward(cudaStream_t s, float* losses /*(B)*/, float* probs /*(B,K)*/, const float* logits,
                          const std::int32_t* labels, int B, int K, DeviceError* err);
void softmax_xent_backward(cudaStream_t s, float* dlogits, const float* probs, const std::int32_t* labels, int B, int K,
                           float scale, DeviceError* err);
// One chunk of vocabulary columns of a softmax cross-entropy (cpu/kernels.h xent_chunk_forward / backward).
void xent_chunk_forward(cudaStream_t s, float* stats /*(M,4)*/, std::int32_t* best_idx /*(M)*/, const float* logits,
                        const std::int32_t* labels, int M, int Vc, int v0);
void xent_chunk_backward(cudaStream_t s, float* dlogits, const float* logits, const float* lse,
                         const std::int32_t* labels, int M, int Vc, int v0, float scale);
// Attention rows: scores (B, NH, T, T) in place -> masked softmax (kMaskedScore for keys with mask 0).
void attention_softmax(cudaStream_t s, float* scores, const float* key_mask /*(B,T) or null*/, int B, int NH, int T);
// g (B, NH, T, T): g = pd ⊙ g - P · Σ_row(pd ⊙ g) (softmax backward through dropout; pd = P when no dropout).
void attention_softmax_backward(cudaStream_t s, float* g, const float* probs, const float* pd, int B, int NH, int T);

// --- optimizer updates and norms (kernels_optim.cu) ------------------------------------------------------------
struct AdamScalars {
  float scale, decay, b1, omb1, b2, omb2, bc2_sqrt, step_size, eps;
};
struct LambScalars {
  float scale, b1, omb1, b2, omb2, inv_bc1, inv_bc2, eps, wd;
};
// A chunk [b, e) of a slab (LAMB items, norm chunks): fixed boundaries, so sums do not depend on the launch.
struct Chunk {
  std::size_t b, e;
};
void adamw(cudaStream_t s, const AdamScalars& k, float* p, const float* g, float* m, float* v, std::size_t n,
           std::uint16_t* p_bf16_out);
// Pass 1: moments of every chunk, and per chunk Σp² (before the step) into p_sq[i] and Σu² into u_sq[i].
void lamb_moments(cudaStream_t s, const LambScalars& k, const float* p, const float* g, float* m, float* v,
                  const Chunk* chunks, int n_chunks, double* p_sq, double* u_sq);
// Pass 2: p -= step[i] · u over chunk i (and the bf16 copy of p when given).
void lamb_apply(cudaStream_t s, const LambScalars& k, float* p, const float* m, const float* v, const Chunk* chunks,
                const float* step, int n_chunks, std::uint16_t* p_bf16_out);
// A piece of one array for a norm.
struct SpanChunk {
  const float* x;
  std::size_t n;
};
// partial[i] = Σ x² over piece i (double, fixed order within the piece).
void sum_squares_chunks(cudaStream_t s, const SpanChunk* chunks, int n_chunks, double* partial);

}  // namespace strata::backend::cuda
