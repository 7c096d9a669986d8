// OpenBLAS-backed GEMM. Batched GEMM loops over cblas_sgemm: for attention-sized matrices OpenBLAS's own
// threading inside each call is what keeps both cores busy.
#include <cblas.h>

#include "strata/backend/gemm.h"

extern "C" void openblas_set_num_threads(int);

namespace strata::backend {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

void sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                           std::ptrdiff_t stride_a, const float* b, int ldb, std::ptrdiff_t stride_b, float beta,
                           float* c, int ldc, std::ptrdiff_t stride_c, int batch) {
  for (int i = 0; i < batch; ++i)
    sgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
}

void set_blas_threads(int n) { openblas_set_num_threads(n); }

}  // namespace strata::backend
