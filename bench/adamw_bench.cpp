// Fused AdamW over one large fp32 slab: ms per step and effective bandwidth (reads p, g, m, v; writes p, m, v =
// 28 bytes per parameter, +2 with the bf16 copy), set against a triad over the same memory in the same run and,
// with --peer, against torch.optim.AdamW run by bench/peers/torch_adamw.py right after.
// Usage: adamw_bench [--threads 2] [--million 50] [--steps 10] [--peer bench/peers/torch_adamw.py]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "strata/core/memory.h"
#include "strata/core/thread_pool.h"
#include "strata/train/optim.h"

// The reference loops (triad etc.) must be vectorised as STREAM is built (-O3); -O2 leaves them scalar.
#pragma GCC optimize("O3")

namespace {

struct Stat {
  double min_ms, med_ms;
};

Stat time_it(int reps, const std::function<void()>& fn) {
  fn();  // warm-up
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, steps = 10;
  std::size_t n = 50'000'000;
  std::string peer;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (a == "--million")
      n = static_cast<std::size_t>(std::atof(argv[i + 1]) * 1e6);
    else if (a == "--steps")
      steps = std::atoi(argv[i + 1]);
    else if (a == "--peer")
      peer = argv[i + 1];
    else {
      std::fprintf(stderr, "adamw_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  Stat ours{}, ours_bf16{}, lamb{}, triad{}, norm{};
  {
    strata::ThreadPool pool(threads);
    strata::Arena arena(strata::Space::kHost, "host");
    strata::Buffer bp(arena, n * 4, "p"), bg(arena, n * 4, "g"), bm(arena, n * 4, "m"), bv(arena, n * 4, "v"),
        bh(arena, n * 2, "p bf16");
    float *p = bp.f32(), *g = bg.f32(), *m = bm.f32(), *v = bv.f32();
    auto* h = bh.as<std::uint16_t>();
    pool.parallel_chunks(n, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        p[i] = 0.01f * static_cast<float>(i % 1000);
        g[i] = 1e-3f * static_cast<float>(i % 77) - 0.03f;
        m[i] = 0.0f;
        v[i] = 0.0f;
        h[i] = 0;
      }
    });
    strata::train::AdamWParams hp{1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    std::int64_t step = 0;
    ours = time_it(steps, [&] { strata::train::adamw_step(pool, p, g, m, v, n, hp, ++step); });
    ours_bf16 = time_it(steps, [&] { strata::train::adamw_step(pool, p, g, m, v, n, hp, ++step, 1.0f, h); });
    strata::train::LambParams lp;
    std::int64_t lamb_t = 0;
    lamb = time_it(steps, [&] { strata::train::lamb_step(pool, p, g, m, v, n, lp, ++lamb_t); });
    strata::train::GradSpan span{g, n};
    norm = time_it(steps, [&] { (void)strata::train::global_grad_norm(pool, {&span, 1}); });
    // Triad a = b + s*c over three of the same arrays, same partition style (STREAM byte count: 12 B/elem).
    triad = time_it(steps, [&] {
      pool.parallel_for((n + 32767) / 32768, [&](std::size_t blk) {
        std::size_t lo = blk * 32768, hi = std::min(n, lo + 32768);
        for (std::size_t i = lo; i < hi; ++i) m[i] = g[i] + 3.0f * v[i];
      });
    });
  }
  auto gbs = [&](double bytes_per, double ms) { return bytes_per * static_cast<double>(n) / (ms * 1e-3) * 1e-9; };
  std::printf("adamw_bench: %zu parameters (%.0f MiB fp32 per array), %d threads, %d steps (min / median)\n", n,
              n * 4.0 / (1 << 20), threads, steps);
  std::printf("  fused adamw            %8.2f / %8.2f ms   %6.2f / %6.2f GB/s (28 B/param)\n", ours.min_ms, ours.med_ms,
              gbs(28, ours.min_ms), gbs(28, ours.med_ms));
  std::printf("  fused adamw + bf16 out %8.2f / %8.2f ms   %6.2f / %6.2f GB/s (30 B/param)\n", ours_bf16.min_ms,
              ours_bf16.med_ms, gbs(30, ours_bf16.min_ms), gbs(30, ours_bf16.med_ms));
  std::printf("  fused lamb (2 passes)  %8.2f / %8.2f ms   %6.2f / %6.2f GB/s (40 B/param)\n", lamb.min_ms, lamb.med_ms,
              gbs(40, lamb.min_ms), gbs(40, lamb.med_ms));
  std::printf("  global grad norm       %8.2f / %8.2f ms   %6.2f / %6.2f GB/s (4 B/param)\n", norm.min_ms, norm.med_ms,
              gbs(4, norm.min_ms), gbs(4, norm.med_ms));
  std::printf("  triad (same memory)    %8.2f / %8.2f ms   %6.2f / %6.2f GB/s (12 B/elem)\n", triad.min_ms,
              triad.med_ms, gbs(12, triad.min_ms), gbs(12, triad.med_ms));
  std::printf("  adamw bandwidth / triad bandwidth: %.2f (best)  %.2f (median)\n",
              gbs(28, ours.min_ms) / gbs(12, triad.min_ms), gbs(28, ours.med_ms) / gbs(12, triad.med_ms));
  if (peer.empty()) return 0;

  std::string cmd = "/usr/bin/python3 " + peer + " --n " + std::to_string(n) + " --threads " + std::to_string(threads) +
                    " --steps " + std::to_string(steps);
  std::FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    std::printf("  peer: could not run %s\n", cmd.c_str());
    return 1;
  }
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    std::printf("  peer: %s", line);
    char variant[64];
    double pmin, pmed;
    const char* at = std::strstr(line, "variant=");
    const char* mn = std::strstr(line, "min_ms=");
    const char* md = std::strstr(line, "median_ms=");
    if (at && mn && md && std::sscanf(at, "variant=%63s", variant) == 1 && std::sscanf(mn, "min_ms=%lf", &pmin) == 1 &&
        std::sscanf(md, "median_ms=%lf", &pmed) == 1) {
      std::printf("  speed-up vs torch AdamW (%s): %.2fx (min)  %.2fx (median)\n", variant, pmin / ours.min_ms,
                  pmed / ours.med_ms);
    }
  }
  return pclose(f) == 0 ? 0 : 1;
}
