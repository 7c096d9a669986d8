// cuBLAS, loaded when the first CUDA backend is made rather than linked: libcublasLt is half a gigabyte, and linking
// it cost every strata process (each test case is one) about 0.3 s of start-up on machines that never use a GPU.
#pragma once
#include <cublas_v2.h>

namespace strata::backend::cuda {

// The cuBLAS entry points the backend calls, resolved with dlsym from libcublas.so.13 (spelled out: the header
// overloads cublasGemmEx for C++, so decltype cannot name it).
struct Blas {
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  cublasStatus_t (*gemm_strided_batched_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                            const void*, const void*, cudaDataType, int, long long, const void*,
                                            cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                            long long, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  const char* (*status_string)(cublasStatus_t) = nullptr;
};

// Loads cuBLAS once (thread-safe); throws a resource error naming the library and the loader's message when it is
// missing.
const Blas& blas();

}  // namespace strata::backend::cuda
