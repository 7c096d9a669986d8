// The CUDA backend in the registry: "--backend cuda" either builds a working backend (a CUDA build on a machine with a
// GPU) or fails as bad input (exit 2) saying why: no CUDA backend in this build (and how to get one), or no device.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "strata/backend/backend.h"
#include "strata/core/error.h"

namespace strata::backend {
namespace {

const BackendEntry* cuda_entry() {
  const auto all = registered_backends();
  const auto it =
      std::find_if(all.begin(), all.end(), [](const BackendEntry& e) { return std::string(e.name) == "cuda"; });
  return it == all.end() ? nullptr : &*it;
}

std::string bad_input_message(const std::string& name) {
  try {
    make_backend(name, BackendOptions{1});
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "make_backend(\"" << name << "\") succeeded";
  return {};
}

TEST(CudaRegistry, CudaIsListedAfterCpuExactlyWhenBuilt) {
  const auto all = registered_backends();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(std::string(all[0].name), "cpu");
#if defined(STRATA_TEST_EXPECT_CUDA)
  EXPECT_NE(cuda_entry(), nullptr) << "configured with STRATA_CUDA=ON but no 'cuda' backend registered";
#else
  EXPECT_EQ(cuda_entry(), nullptr) << "configured without CUDA but a 'cuda' backend is registered";
#endif
}

TEST(CudaRegistry, UnavailableCudaIsBadInputSayingWhy) {
  const BackendEntry* e = cuda_entry();
  if (!e) {
    const std::string why = bad_input_message("cuda");
    EXPECT_NE(why.find("this build has no CUDA backend"), std::string::npos) << why;
    EXPECT_NE(why.find("-DSTRATA_CUDA=ON"), std::string::npos) << why;
    return;
  }
  const std::string reason = e->unavailable();
  if (reason.empty()) {  // a GPU is here: the backend must come up and name itself
    auto be = make_backend("cuda", BackendOptions{1, std::size_t{64} << 20});
    EXPECT_EQ(be->name(), "cuda");
    EXPECT_EQ(be->memory().device().budget(), std::size_t{64} << 20);
    return;
  }
  EXPECT_NE(reason.find("no CUDA device found"), std::string::npos) << reason;
  const std::string why = bad_input_message("cuda");
  EXPECT_NE(why.find("backend 'cuda'"), std::string::npos) << why;
  EXPECT_NE(why.find(reason), std::string::npos) << why;
}

}  // namespace
}  // namespace strata::backend
