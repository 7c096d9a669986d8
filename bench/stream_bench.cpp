// STREAM-like memory bandwidth (copy, scale, add, triad) on arrays far larger than the caches, split over the
// thread pool the way the engine's kernels are. Bytes counted as STREAM does (no write-allocate traffic).
// Usage: stream_bench [threads=2] [million_floats_per_array=32] [reps=10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "strata/core/memory.h"
#include "strata/core/thread_pool.h"

// The reference loops (triad etc.) must be vectorised as STREAM is built (-O3); -O2 leaves them scalar.
#pragma GCC optimize("O3")

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  std::size_t n = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 32) * 1000000ull;
  int reps = argc > 3 ? std::atoi(argv[3]) : 10;
  strata::ThreadPool pool(threads);
  strata::Arena arena(strata::Space::kHost, "host");
  strata::Buffer ba(arena, n * 4, "a"), bb(arena, n * 4, "b"), bc(arena, n * 4, "c");
  float *a = ba.f32(), *b = bb.f32(), *c = bc.f32();
  // First touch from the same static partition the kernels use.
  pool.parallel_chunks(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.5f;
  });
  const float s = 3.0f;
  struct Kernel {
    const char* name;
    double bytes_per_elem;
    std::function<void(std::size_t, std::size_t)> body;
  };
  Kernel kernels[] = {
      {"copy", 8,
       [&](std::size_t lo, std::size_t hi) {
         for (std::size_t i = lo; i < hi; ++i) c[i] = a[i];
       }},
      {"scale", 8,
       [&](std::size_t lo, std::size_t hi) {
         for (std::size_t i = lo; i < hi; ++i) b[i] = s * c[i];
       }},
      {"add", 12,
       [&](std::size_t lo, std::size_t hi) {
         for (std::size_t i = lo; i < hi; ++i) c[i] = a[i] + b[i];
       }},
      {"triad", 12,
       [&](std::size_t lo, std::size_t hi) {
         for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
       }},
  };
  std::printf("stream_bench: %d threads, %zu floats per array (%.0f MiB each), %d reps\n", threads, n,
              n * 4.0 / (1 << 20), reps);
  std::printf("%-6s %10s %10s\n", "kernel", "best GB/s", "med GB/s");
  for (auto& k : kernels) {
    std::vector<double> secs;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      pool.parallel_chunks(n, k.body);
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    double bytes = k.bytes_per_elem * static_cast<double>(n);
    std::printf("%-6s %10.2f %10.2f\n", k.name, bytes / secs.front() * 1e-9, bytes / secs[secs.size() / 2] * 1e-9);
  }
  volatile float sink = a[n / 2] + b[n / 3] + c[n / 4];
  (void)sink;
  return 0;
}
