// CudaBackend, compute: row-major GEMM through cuBLAS (column-major, so C^T = op(B)^T op(A)^T), the layer ops as
// launches of this folder's kernels on the compute stream, attention as cuBLAS strided-batched products around the
// softmax kernels, and the optimizer steps and norms. Argument checks match the CPU kernels' (bad input on the host).
#include <cmath>

#include "strata/backend/cuda/cuda_backend.h"
#include "strata/backend/cuda/cuda_blas.h"
#include "strata/core/error.h"

namespace strata::backend::cuda {

namespace {

void check_dims(const char* op, long long a, long long b = 0, long long c = 0, long long d = 0) {
  if (a < 0 || b < 0 || c < 0 || d < 0)
    bad_input(op, ": dimensions must be non-negative, got ", a, ", ", b, ", ", c, ", ", d);
}

void check_p(const char* op, float p) {
  if (!(p >= 0.0f && p <= 1.0f)) bad_input(op, ": dropout probability must be in [0, 1], got ", p);
}

void check_attention(const char* op, int B, int T, int C, int NH, float p) {
  check_dims(op, B, T, C, NH);
  if (NH <= 0 || C % NH != 0)
    bad_input(op, ": the model width C = ", C, " must be a positive multiple of the number of heads NH = ", NH);
  if (!(p >= 0.0f && p <= 1.0f)) bad_input(op, ": attention dropout probability must be in [0, 1], got ", p);
}

}  // namespace

// C (m, n) = alpha·op(A)·op(B) + beta·C, row-major, `batch` times with the given element strides.
void CudaBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       long long stride_a, const float* b, int ldb, long long stride_b, float beta, float* c, int ldc,
                       long long stride_c, int batch) {
  if (m <= 0 || n <= 0 || batch <= 0) return;
  const cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (batch == 1) {
    check(blas().gemm_ex(blas_, tb, ta, n, m, k, &alpha, b, CUDA_R_32F, ldb, a, CUDA_R_32F, lda, &beta, c, CUDA_R_32F,
                         ldc, gemm_type_, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
    return;
  }
  check(blas().gemm_strided_batched_ex(blas_, tb, ta, n, m, k, &alpha, b, CUDA_R_32F, ldb, stride_b, a, CUDA_R_32F, lda,
                                       stride_a, &beta, c, CUDA_R_32F, ldc, stride_c, batch, gemm_type_,
                                       CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
}

void CudaBackend::sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                        const float* b, int ldb, float beta, float* c, int ldc) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

void CudaBackend::sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                                        int lda, std::ptrdiff_t stride_a, const float* b, int ldb,
                                        std::ptrdiff_t stride_b, float beta, float* c, int ldc, std::ptrdiff_t stride_c,
                                        int batch) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch);
}

// Launch on the compute stream, then surface launch errors.
#define STRATA_LAUNCH(name, ...)         \
  do {                                   \
    name(stream(kCompute), __VA_ARGS__); \
    check_launch(#name);                 \
  } while (0)

void CudaBackend::embedding_forward(float* out, const int32_t* ids, const int32_t* segs, const float* wte,
                                    const float* wpe, const float* wse, int B, int T, int C) {
  check_dims("embedding_forward", B, T, C);
  STRATA_LAUNCH(cuda::embedding_forward, out, ids, segs, wte, wpe, wse, B, T, C, err);
}
void CudaBackend::embedding_backward(float* dwte, float* dwpe, float* dwse, const float* dout, const int32_t* ids,
                                     const int32_t* segs, int B, int T, int C) {
  check_dims("embedding_backward", B, T, C);
  STRATA_LAUNCH(cuda::embedding_backward, dwte, dwpe, dwse, dout, ids, segs, B, T, C, err);
}
void CudaBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* in, const float* w,
                                    const float* b, int N, int C, float eps) {
  check_dims("layernorm_forward", N, C);
  STRATA_LAUNCH(cuda::layernorm_forward, out, mean, rstd, in, w, b, N, C, eps);
}
void CudaBackend::layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                                     const float* w, const float* mean, const float* rstd, int N, int C) {
  check_dims("layernorm_backward", N, C);
  STRATA_LAUNCH(cuda::layernorm_backward, din, dw, db, dout, in, w, mean, rstd, N, C);
}

// out (N, OC) = in (N, IC) · wᵀ (IC, OC) + b: bias rows first, then GEMM with beta = 1 (as torch.addmm).
void CudaBackend::linear_forward(float* out, const float* in, const float* w, const float* b, int N, int IC, int OC) {
  check_dims("linear_forward", N, IC, OC);
  if (N == 0 || OC == 0) return;
  if (b || IC == 0) STRATA_LAUNCH(cuda::fill_rows, out, b, N, OC);
  if (IC > 0) gemm(false, true, N, OC, IC, 1.0f, in, IC, 0, w, IC, 0, b ? 1.0f : 0.0f, out, OC, 0, 1);
}
void CudaBackend::linear_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                                  int N, int IC, int OC) {
  check_dims("linear_backward", N, IC, OC);
  if (N == 0 || OC == 0) return;
  if (IC > 0) {
    if (din)
      gemm(false, false, N, IC, OC, 1.0f, dout, OC, 0, w, IC, 0, 1.0f, din, IC, 0, 1);  // (N,IC) += (N,OC)·(OC,IC)
    gemm(true, false, OC, IC, N, 1.0f, dout, OC, 0, in, IC, 0, 1.0f, dw, IC, 0, 1);     // (OC,IC) += (OC,N)·(N,IC)
  }
  if (db) STRATA_LAUNCH(cuda::column_sums, db, dout, N, OC);
}

// Per sequence b, NH heads as one strided batch (head h: columns [h·HS, (h+1)·HS) of (T, C), stride HS).
void CudaBackend::attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                                    const float* key_mask, int B, int T, int C, int NH, float dropout_p,
                                    uint64_t dropout_key, float* scratch) {
  check_attention("attention_forward", B, T, C, NH, dropout_p);
  if (B == 0 || T == 0 || C == 0) return;
  const int HS = C / NH;
  const long long tc = static_cast<long long>(T) * C, tt = static_cast<long long>(T) * T;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  for (int b = 0; b < B; ++b)  // scores (NH, T, T) = q_h · k_hᵀ / sqrt(HS)
    gemm(false, true, T, T, HS, scale, q + b * tc, C, HS, k + b * tc, C, HS, 0.0f, probs + b * NH * tt, T, tt, NH);
  STRATA_LAUNCH(cuda::attention_softmax, probs, key_mask, B, NH, T);
  const float* pd = probs;  // (B, NH, T, T) after dropout: element index = the contract's dropout counter
  if (dropout_p > 0.0f) {
    STRATA_LAUNCH(cuda::dropout_forward, scratch, probs, static_cast<std::size_t>(B) * NH * tt, dropout_p, dropout_key);
    pd = scratch;
  }
  for (int b = 0; b < B; ++b)  // out_h (T, HS) = pd (T, T) · v_h (T, HS)
    gemm(false, false, T, HS, T, 1.0f, pd + b * NH * tt, T, tt, v + b * tc, C, HS, 0.0f, out + b * tc, C, HS, NH);
}

void CudaBackend::attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                     const float* v, const float* probs, const float*, int B, int T, int C, int NH,
                                     float dropout_p, uint64_t dropout_key, float* scratch) {
  check_attention("attention_backward", B, T, C, NH, dropout_p);
  if (B == 0 || T == 0 || C == 0) return;
  const int HS = C / NH;
  const long long tc = static_cast<long long>(T) * C, tt = static_cast<long long>(T) * T, all = B * NH * tt;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const float* pd = probs;
  if (dropout_p > 0.0f) {  // regenerated from the key, as the forward drew it
    STRATA_LAUNCH(cuda::dropout_forward, scratch, probs, static_cast<std::size_t>(all), dropout_p, dropout_key);
    pd = scratch;
  }
  float* g = scratch + all;  // (B, NH, T, T): gradient of pd, then of the scores
  for (int b = 0; b < B; ++b) {
    const long long x = b * tc, h = b * NH * tt;
    gemm(false, true, T, T, HS, 1.0f, dout + x, C, HS, v + x, C, HS, 0.0f, g + h, T, tt, NH);    // g = dout_h·v_hᵀ
    gemm(true, false, T, HS, T, 1.0f, pd + h, T, tt, dout + x, C, HS, 1.0f, dv + x, C, HS, NH);  // dv_h += pdᵀ·dout_h
  }
  STRATA_LAUNCH(cuda::attention_softmax_backward, g, probs, pd, B, NH, T);
  for (int b = 0; b < B; ++b) {
    const long long x = b * tc, h = b * NH * tt;
    gemm(false, false, T, HS, T, scale, g + h, T, tt, k + x, C, HS, 1.0f, dq + x, C, HS, NH);  // dq_h += dS·k_h
    gemm(true, false, T, HS, T, scale, g + h, T, tt, q + x, C, HS, 1.0f, dk + x, C, HS, NH);   // dk_h += dSᵀ·q_h
  }
}

void CudaBackend::gelu_forward(float* out, const float* in, size_t N) { STRATA_LAUNCH(cuda::gelu_forward, out, in, N); }
void CudaBackend::gelu_backward(float* din, const float* in, const float* dout, size_t N) {
  STRATA_LAUNCH(cuda::gelu_backward, din, in, dout, N);
}
void CudaBackend::dropout_forward(float* out, const float* in, size_t N, float p, uint64_t key) {
  check_p("dropout_forward", p);
  STRATA_LAUNCH(cuda::dropout_forward, out, in, N, p, key);
}
void CudaBackend::dropout_backward(float* din, const float* dout, size_t N, float p, uint64_t key) {
  check_p("dropout_backward", p);
  STRATA_LAUNCH(cuda::dropout_backward, din, dout, N, p, key);
}
void CudaBackend::residual_forward(float* out, const float* a, const float* b, size_t N) {
  STRATA_LAUNCH(cuda::residual_forward, out, a, b, N);
}
void CudaBackend::residual_backward(float* da, float* db, const float* dout, size_t N) {
  STRATA_LAUNCH(cuda::residual_backward, da, db, dout, N);
}
void CudaBackend::tanh_forward(float* out, const float* in, size_t N) { STRATA_LAUNCH(cuda::tanh_forward, out, in, N); }
void CudaBackend::tanh_backward(float* din, const float* out, const float* dout, size_t N) {
  STRATA_LAUNCH(cuda::tanh_backward, din, out, dout, N);
}
void CudaBackend::gather_cls_forward(float* out, const float* in, int B, int T, int C) {
  check_dims("gather_cls_forward", B, T, C);
  if (T == 0 && B > 0) bad_input("gather_cls_forward: sequence length T must be positive");
  STRATA_LAUNCH(cuda::gather_cls_forward, out, in, B, T, C);
}
void CudaBackend::gather_cls_backward(float* din, const float* dout, int B, int T, int C) {
  check_dims("gather_cls_backward", B, T, C);
  if (T == 0 && B > 0) bad_input("gather_cls_backward: sequence length T must be positive");
  STRATA_LAUNCH(cuda::gather_cls_backward, din, dout, B, T, C);
}
void CudaBackend::softmax_xent_forward(float* losses, float* probs, const float* logits, const int32_t* labels, int B,
                                       int K) {
  check_dims("softmax_xent_forward", B, K);
  if (B > 0 && K == 0) bad_input("softmax_xent_forward: need at least one class, got K = 0");
  STRATA_LAUNCH(cuda::softmax_xent_forward, losses, probs, logits, labels, B, K, err);
}
void CudaBackend::softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int B, int K,
                                        float scale) {
  check_dims("softmax_xent_backward", B, K);
  STRATA_LAUNCH(cuda::softmax_xent_backward, dlogits, probs, labels, B, K, scale, err);
}
void CudaBackend::xent_chunk_forward(float* stats, int32_t* best_idx, const float* logits, const int32_t* labels,
                                     int M, int Vc, int v0) {
  check_dims("xent_chunk_forward", M, Vc, v0);
  STRATA_LAUNCH(cuda::xent_chunk_forward, stats, best_idx, logits, labels, M, Vc, v0);
}
void CudaBackend::xent_chunk_backward(float* dlogits, const float* logits, const float* lse, const int32_t* labels,
                                      int M, int Vc, int v0, float scale) {
  check_dims("xent_chunk_backward", M, Vc, v0);
  STRATA_LAUNCH(cuda::xent_chunk_backward, dlogits, logits, lse, labels, M, Vc, v0, scale);
}
void CudaBackend::f32_to_bf16(std::uint16_t* out, const float* in, size_t N) {
  STRATA_LAUNCH(cuda::f32_to_bf16, out, in, N);
}
void CudaBackend::bf16_to_f32(float* out, const std::uint16_t* in, size_t N) {
  STRATA_LAUNCH(cuda::bf16_to_f32, out, in, N);
}

#undef STRATA_LAUNCH

}  // namespace strata::backend::cuda
