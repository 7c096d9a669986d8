// Row-major single-precision GEMM and strided-batched GEMM on the CPU through OpenBLAS.
// C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C. Leading dimensions are row strides.
#pragma once
#include <cstddef>

namespace strata::backend {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc);

// batch independent GEMMs; matrix i starts at a + i*stride_a (likewise b, c).
void sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                           std::ptrdiff_t stride_a, const float* b, int ldb, std::ptrdiff_t stride_b, float beta,
                           float* c, int ldc, std::ptrdiff_t stride_c, int batch);

// Threads OpenBLAS may use (openblas_set_num_threads).
void set_blas_threads(int n);

}  // namespace strata::backend
