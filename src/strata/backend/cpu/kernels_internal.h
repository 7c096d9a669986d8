// Helpers shared by the CPU kernel files (not part of the kernel contract): splitting work over the thread pool
// so that no result depends on the thread count.
#pragma once
#include <algorithm>
#include <cstddef>

#include "strata/core/error.h"
#include "strata/core/thread_pool.h"

namespace strata::backend::cpu::detail {

// Calls fn(begin, end) on contiguous parts of [0, n): at most pool.size() parts, each about `grain` items or more
// (small jobs run inline, as waking a worker costs more than they do). Part boundaries are multiples of `align`, so
// an element-wise kernel treats every element by the same vector code path whatever the thread count.
template <typename Fn>
void parallel_range(ThreadPool& pool, std::size_t n, std::size_t grain, std::size_t align, Fn&& fn) {
  if (n == 0) return;
  std::size_t blocks = (n + align - 1) / align;
  std::size_t parts = std::min<std::size_t>(static_cast<std::size_t>(pool.size()), n / std::max<std::size_t>(grain, 1));
  parts = std::min(parts, blocks);
  if (parts <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  pool.parallel_for(parts, [&](std::size_t p) {
    std::size_t b = std::min(n, blocks * p / parts * align), e = std::min(n, blocks * (p + 1) / parts * align);
    if (b < e) fn(b, e);
  });
}

// Work per part worth waking a thread for: ~16k floats touched.
inline constexpr std::size_t kGrainFloats = 16384;

inline std::size_t rows_grain(std::size_t row_floats) {
  return std::max<std::size_t>(1, kGrainFloats / std::max<std::size_t>(row_floats, 1));
}

// Shapes come from configs and data, so a negative one is bad input, reported with the op's name.
inline void check_shape(const char* op, long long a, long long b = 0, long long c = 0, long long d = 0) {
  if (a < 0 || b < 0 || c < 0 || d < 0)
    bad_input(op, ": dimensions must be non-negative, got ", a, ", ", b, ", ", c, ", ", d);
}

}  // namespace strata::backend::cpu::detail
