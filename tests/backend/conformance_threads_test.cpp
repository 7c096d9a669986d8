// Conformance of what a backend promises beyond single results: its name, allocation through its accounted arenas
// (a device budget enforced), its compute threads, and results that do not depend on the thread count (bit for bit:
// the L2L executor and the baseline must agree however many threads each runs with). GEMM is left out of the
// thread-count check: it goes to the vendor BLAS, which promises no such thing.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "conformance.h"
#include "strata/core/error.h"

namespace strata::backend::conformance {
namespace {

class RuntimeConformance : public Conformance {};

TEST_P(RuntimeConformance, NameAllocationAndBudget) {
  EXPECT_EQ(be().name(), GetParam());
  Arena& dev = be().memory().device();
  const std::size_t before = dev.current();
  {
    Buffer b = be().alloc(Space::kDevice, 4096, "conformance block");
    EXPECT_EQ(b.space(), Space::kDevice);
    EXPECT_EQ(dev.current(), before + 4096);
    EXPECT_GE(dev.peak(), before + 4096);
  }
  EXPECT_EQ(dev.current(), before);
  dev.set_budget(before + 1024);
  EXPECT_THROW(be().alloc(Space::kDevice, 2048, "over budget"), Error);
  dev.set_budget(0);
}

TEST_P(RuntimeConformance, SetThreadsResizesTheComputePool) {
  be().set_threads(3);
  EXPECT_EQ(be().threads(), 3);
  EXPECT_EQ(be().pool().size(), 3);
  be().set_threads(1);
  EXPECT_EQ(be().threads(), 1);
}

// Runs `op` (which writes into the arrays it is given) with 1 and with 3 compute threads from the same inputs and
// requires bit-identical outputs.
void expect_thread_independent(Backend& be, const std::string& name, const std::vector<std::vector<float>>& init,
                               const std::function<void(std::vector<F32*>&)>& op) {
  std::vector<std::vector<float>> results[2];
  for (int run = 0; run < 2; ++run) {
    be.set_threads(run == 0 ? 1 : 3);
    std::vector<std::unique_ptr<F32>> arrays;
    std::vector<F32*> ptrs;
    for (const auto& v : init) {
      arrays.push_back(std::make_unique<F32>(be, v, Role::kInOut, name));
      ptrs.push_back(arrays.back().get());
    }
    op(ptrs);
    for (F32* a : ptrs) results[run].push_back(a->read());
  }
  for (std::size_t i = 0; i < init.size(); ++i)
    EXPECT_EQ(0, std::memcmp(results[0][i].data(), results[1][i].data(), init[i].size() * sizeof(float)))
        << name << ": array " << i << " differs between 1 and 3 threads";
}

TEST_P(RuntimeConformance, ResultsDoNotDependOnTheThreadCount) {
  const int N = 300, C = 129, B = 2, T = 33, NH = 3, CA = 48;
  expect_thread_independent(be(), "layernorm",
                            {randn(N * C, 1), randn(C, 2), randn(C, 3), randn(N * C, 4), std::vector<float>(N * C),
                             std::vector<float>(N), std::vector<float>(N), randn(N * C, 5), randn(C, 6), randn(C, 7)},
                            [&](std::vector<F32*>& a) {
                              be().layernorm_forward(a[4]->get(), a[5]->get(), a[6]->get(), a[0]->get(), a[1]->get(),
                                                     a[2]->get(), N, C, 1e-5f);
                              be().layernorm_backward(a[7]->get(), a[8]->get(), a[9]->get(), a[3]->get(), a[0]->get(),
                                                      a[1]->get(), a[5]->get(), a[6]->get(), N, C);
                            });
  const std::size_t btc = static_cast<std::size_t>(B) * T * CA, tt = static_cast<std::size_t>(B) * NH * T * T;
  expect_thread_independent(
      be(), "attention",
      {randn(btc, 1), randn(btc, 2), randn(btc, 3), randn(btc, 4), std::vector<float>(btc), std::vector<float>(tt),
       std::vector<float>(attention_scratch_floats(B, T, CA, NH)), randn(btc, 5), randn(btc, 6), randn(btc, 7)},
      [&](std::vector<F32*>& a) {
        const std::uint64_t key = dropout_key(1, 2, 3, 4, 5);
        be().attention_forward(a[4]->get(), a[5]->get(), a[0]->get(), a[1]->get(), a[2]->get(), nullptr, B, T, CA, NH,
                               0.1f, key, a[6]->get());
        be().attention_backward(a[7]->get(), a[8]->get(), a[9]->get(), a[3]->get(), a[0]->get(), a[1]->get(),
                                a[2]->get(), a[5]->get(), nullptr, B, T, CA, NH, 0.1f, key, a[6]->get());
      });
  const std::size_t n = 200003;
  expect_thread_independent(
      be(), "optimizers and norms",
      {randn(n, 1), randn(n, 2, 0.1), std::vector<float>(n), std::vector<float>(n), std::vector<float>(4)},
      [&](std::vector<F32*>& a) {
        for (int step = 1; step <= 2; ++step) {
          be().adamw_step(a[0]->get(), a[1]->get(), a[2]->get(), a[3]->get(), n / 2, AdamWParams{}, step, 0.5f,
                          nullptr);
          be().lamb_step(a[0]->get() + n / 2, a[1]->get() + n / 2, a[2]->get() + n / 2, a[3]->get() + n / 2, n - n / 2,
                         LambParams{}, step, {}, 1.0f, nullptr);
        }
        const GradSpan spans[] = {{a[0]->get(), n}, {a[1]->get(), n}};
        // The two doubles, bit for bit, into the 4-float array a[4].
        const double norms[2] = {be().global_grad_norm(spans), be().sum_squares(a[1]->get(), n)};
        be().copy_async(a[4]->get(), Space::kDevice, norms, Space::kHost, sizeof(norms)).wait();
      });
}

}  // namespace

STRATA_CONFORMANCE_SUITE(RuntimeConformance);

}  // namespace strata::backend::conformance
