// Blas: dlopen of libcublas (the soname, then the toolkit's library folder this build was configured with).
#include "strata/backend/cuda/cuda_blas.h"

#include <dlfcn.h>

#include <mutex>
#include <string>
#include <type_traits>

#include "strata/core/error.h"

#ifndef STRATA_CUBLAS_DIR
#define STRATA_CUBLAS_DIR "/usr/local/cuda/lib64"
#endif

namespace strata::backend::cuda {

namespace {

// The pointer types match the header's declarations (overload resolution in an unevaluated operand: no link-time
// reference to cuBLAS).
#define STRATA_SAME_SIGNATURE(field, fn) \
  static_assert(std::is_same_v<decltype(static_cast<decltype(Blas::field)>(&fn)), decltype(Blas::field)>)
STRATA_SAME_SIGNATURE(create, ::cublasCreate_v2);
STRATA_SAME_SIGNATURE(destroy, ::cublasDestroy_v2);
STRATA_SAME_SIGNATURE(set_stream, ::cublasSetStream_v2);
STRATA_SAME_SIGNATURE(gemm_ex, ::cublasGemmEx);
STRATA_SAME_SIGNATURE(gemm_strided_batched_ex, ::cublasGemmStridedBatchedEx);
STRATA_SAME_SIGNATURE(status_string, ::cublasGetStatusString);
#undef STRATA_SAME_SIGNATURE

template <typename Fn>
void resolve(void* lib, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) resource_error("cuBLAS: symbol ", name, " not found in libcublas (", dlerror(), ")");
}

Blas load() {
  void* lib = nullptr;
  std::string tried;
  for (const std::string& name : {std::string("libcublas.so.13"), std::string(STRATA_CUBLAS_DIR) + "/libcublas.so.13",
                                  std::string("libcublas.so")}) {
    if ((lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
    const char* why = dlerror();
    tried += (tried.empty() ? "" : "; ") + name + ": " + (why ? why : "?");
  }
  if (!lib) resource_error("the CUDA backend needs cuBLAS 13 and cannot load it (", tried, ")");
  Blas b;  // the library stays loaded for the life of the process
  resolve(lib, b.create, "cublasCreate_v2");
  resolve(lib, b.destroy, "cublasDestroy_v2");
  resolve(lib, b.set_stream, "cublasSetStream_v2");
  resolve(lib, b.gemm_ex, "cublasGemmEx");
  resolve(lib, b.gemm_strided_batched_ex, "cublasGemmStridedBatchedEx");
  resolve(lib, b.status_string, "cublasGetStatusString");
  return b;
}

}  // namespace

const Blas& blas() {
  static const Blas loaded = load();
  return loaded;
}

}  // namespace strata::backend::cuda
