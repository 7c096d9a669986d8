// OpenBLAS sgemm throughput (GFLOP/s) at square and BERT-shaped sizes: the machine's "sgemm peak" that the engine's
// compute figures are measured against. Usage: sgemm_bench [threads=2] [reps=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "strata/backend/gemm.h"
#include "strata/core/rng.h"

namespace {

struct Shape {
  int m, n, k;
  const char* what;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  strata::backend::set_blas_threads(threads);
  const Shape shapes[] = {
      {1024, 1024, 1024, "square"},
      {2048, 2048, 2048, "square"},
      {4096, 256, 1024, "BERT-ish"},
      {4096, 1024, 1024, "BERT-large attn proj (B*T=4096, C=1024)"},
      {4096, 4096, 1024, "BERT-large FFN up"},
      {4096, 1024, 4096, "BERT-large FFN down"},
      {4096, 768, 768, "BERT-base attn proj"},
      {4096, 3072, 768, "BERT-base FFN up"},
  };
  std::printf("sgemm_bench: OpenBLAS, %d threads, %d reps (min / median)\n", threads, reps);
  std::printf("%6s %6s %6s  %10s %10s  %s\n", "m", "n", "k", "best GF/s", "med GF/s", "shape");
  double peak = 0;
  strata::Rng rng(1);
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<std::size_t>(s.m) * s.k), b(static_cast<std::size_t>(s.k) * s.n),
        c(static_cast<std::size_t>(s.m) * s.n);
    for (auto& x : a) x = static_cast<float>(rng.uniform() - 0.5);
    for (auto& x : b) x = static_cast<float>(rng.uniform() - 0.5);
    strata::backend::sgemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n);
    std::vector<double> secs;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      strata::backend::sgemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n);
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    double flops = 2.0 * s.m * s.n * s.k;
    double best = flops / secs.front() * 1e-9, med = flops / secs[secs.size() / 2] * 1e-9;
    peak = std::max(peak, best);
    std::printf("%6d %6d %6d  %10.1f %10.1f  %s\n", s.m, s.n, s.k, best, med, s.what);
  }
  std::printf("sgemm peak (max over shapes, best rep): %.1f GFLOP/s on %d threads\n", peak, threads);
  return 0;
}
