// The makers of the backends compiled into this build, one per backend folder and defined there, so that the
// factory (backend.cpp) can build every backend without including any backend folder's headers.
#pragma once
#include <memory>

#include "strata/backend/backend.h"

namespace strata::backend {

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options);  // cpu/cpu_backend.cpp
#if defined(STRATA_HAVE_CUDA)
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& options);  // cuda/cuda_backend.cpp
std::string cuda_unavailable();                                             // empty when a device is present
#endif

}  // namespace strata::backend
