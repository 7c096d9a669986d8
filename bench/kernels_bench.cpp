// Times every CPU kernel's forward and backward at BERT-mini sizes (B=8, T=128, C=256, NH=4, FFN 1024) on 2 threads,
// printing GB/s (minimal bytes read + written) and, for GEMM-based kernels, GFLOP/s, so one can see which
// non-GEMM kernel would dominate a training step. Threads (pool and BLAS): STRATA_THREADS, else 2.
// Run: ./build/bench/kernels_bench [--benchmark_repetitions=5]; on a busy machine, STRATA_THREADS=1 and the CPU-time
// column give per-core figures that the load does not distort.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "strata/backend/cpu/kernels.h"
#include "strata/backend/gemm.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"

namespace {

using namespace strata::backend::cpu;
using Vec = std::vector<float>;

constexpr int kB = 8, kT = 128, kC = 256, kNH = 4, kFFN = 1024, kV = 30522, kMaxT = 512, kK = 10;
constexpr std::size_t kN = static_cast<std::size_t>(kB) * kT;  // tokens
constexpr float kDrop = 0.1f;

int bench_threads() { return std::getenv("STRATA_THREADS") ? strata::default_threads() : 2; }

strata::ThreadPool& pool() {
  static strata::ThreadPool p(bench_threads());
  return p;
}

Vec randn(std::size_t n, std::uint64_t seed) {
  strata::Rng rng(seed);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

void rate(benchmark::State& s, double bytes, double flops = 0) {
  // Rates per real time (the benchmarks use real time; with one thread, per CPU time is bytes/flops over the CPU
  // column).
  s.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (flops > 0)
    s.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

constexpr double kF = sizeof(float);

void BM_embedding_fwd(benchmark::State& s) {
  Vec wte = randn(static_cast<std::size_t>(kV) * kC, 1), wpe = randn(kMaxT * kC, 2), wse = randn(2 * kC, 3),
      out(kN * kC);
  std::vector<std::int32_t> ids(kN), segs(kN, 0);
  for (std::size_t i = 0; i < kN; ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % kV);
  for (auto _ : s)
    embedding_forward(pool(), out.data(), ids.data(), segs.data(), wte.data(), wpe.data(), wse.data(), kB, kT, kC);
  rate(s, 4.0 * kN * kC * kF);
}

void BM_embedding_bwd(benchmark::State& s) {
  Vec dwte(static_cast<std::size_t>(kV) * kC), dwpe(kMaxT * kC), dwse(2 * kC), dout = randn(kN * kC, 4);
  std::vector<std::int32_t> ids(kN), segs(kN, 0);
  for (std::size_t i = 0; i < kN; ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % kV);
  for (auto _ : s)
    embedding_backward(pool(), dwte.data(), dwpe.data(), dwse.data(), dout.data(), ids.data(), segs.data(), kB, kT, kC);
  rate(s, 7.0 * kN * kC * kF);
}

void BM_layernorm_fwd(benchmark::State& s) {
  Vec in = randn(kN * kC, 5), w = randn(kC, 6), b = randn(kC, 7), out(kN * kC), mean(kN), rstd(kN);
  for (auto _ : s)
    layernorm_forward(pool(), out.data(), mean.data(), rstd.data(), in.data(), w.data(), b.data(), kN, kC, 1e-12f);
  rate(s, 2.0 * kN * kC * kF);
}

void BM_layernorm_bwd(benchmark::State& s) {
  Vec in = randn(kN * kC, 5), w = randn(kC, 6), b = randn(kC, 7), out(kN * kC), mean(kN), rstd(kN);
  Vec dout = randn(kN * kC, 8), din(kN * kC), dw(kC), db(kC);
  layernorm_forward(pool(), out.data(), mean.data(), rstd.data(), in.data(), w.data(), b.data(), kN, kC, 1e-12f);
  for (auto _ : s)
    layernorm_backward(pool(), din.data(), dw.data(), db.data(), dout.data(), in.data(), w.data(), mean.data(),
                       rstd.data(), kN, kC);
  rate(s, 4.0 * kN * kC * kF);  // dout, in, din read + din write
}

// range(0) = IC, range(1) = OC.
void BM_linear_fwd(benchmark::State& s) {
  const int ic = static_cast<int>(s.range(0)), oc = static_cast<int>(s.range(1));
  Vec in = randn(kN * ic, 9), w = randn(static_cast<std::size_t>(oc) * ic, 10), b = randn(oc, 11), out(kN * oc);
  for (auto _ : s) linear_forward(pool(), out.data(), in.data(), w.data(), b.data(), kN, ic, oc);
  rate(s, (kN * ic + static_cast<double>(oc) * ic + kN * oc) * kF, 2.0 * kN * ic * oc);
}

void BM_linear_bwd(benchmark::State& s) {
  const int ic = static_cast<int>(s.range(0)), oc = static_cast<int>(s.range(1));
  Vec in = randn(kN * ic, 9), w = randn(static_cast<std::size_t>(oc) * ic, 10), dout = randn(kN * oc, 12);
  Vec din(kN * ic), dw(static_cast<std::size_t>(oc) * ic), db(oc);
  for (auto _ : s)
    linear_backward(pool(), din.data(), dw.data(), db.data(), dout.data(), in.data(), w.data(), kN, ic, oc);
  rate(s, (2.0 * kN * ic + 2.0 * oc * ic + kN * oc) * kF, 4.0 * kN * ic * oc);
}

struct Attn {
  Vec q = randn(kN * kC, 13), k = randn(kN * kC, 14), v = randn(kN * kC, 15), dout = randn(kN * kC, 16);
  Vec out = Vec(kN * kC), probs = Vec(static_cast<std::size_t>(kB) * kNH * kT * kT),
      scratch = Vec(attention_scratch_floats(kB, kT, kC, kNH)), mask = Vec(kN, 1.0f);
  Vec dq = Vec(kN * kC), dk = Vec(kN * kC), dv = Vec(kN * kC);
  Attn() {
    for (int b = 0; b < kB; ++b)
      for (int t = kT - 16 * b; t < kT; ++t) mask[b * kT + t] = 0.0f;  // varied padding
  }
  static double flops_fwd() { return 4.0 * kB * kNH * kT * kT * (kC / kNH); }
  static double bytes_probs() { return static_cast<double>(kB) * kNH * kT * kT * kF; }
};

// range(0): attention dropout on (1) or off (0).
void BM_attention_fwd(benchmark::State& s) {
  Attn a;
  const float p = s.range(0) ? kDrop : 0.0f;
  for (auto _ : s)
    attention_forward(pool(), a.out.data(), a.probs.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), kB, kT,
                      kC, kNH, p, 99, a.scratch.data());
  rate(s, 4.0 * kN * kC * kF + (p > 0 ? 3 : 2) * Attn::bytes_probs(), Attn::flops_fwd());
}

void BM_attention_bwd(benchmark::State& s) {
  Attn a;
  const float p = s.range(0) ? kDrop : 0.0f;
  attention_forward(pool(), a.out.data(), a.probs.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), kB, kT, kC,
                    kNH, p, 99, a.scratch.data());
  for (auto _ : s)
    attention_backward(pool(), a.dq.data(), a.dk.data(), a.dv.data(), a.dout.data(), a.q.data(), a.k.data(), a.v.data(),
                       a.probs.data(), a.mask.data(), kB, kT, kC, kNH, p, 99, a.scratch.data());
  rate(s, 10.0 * kN * kC * kF + (p > 0 ? 6 : 4) * Attn::bytes_probs(), 2 * Attn::flops_fwd());
}

void BM_gelu_fwd(benchmark::State& s) {
  const std::size_t n = kN * kFFN;
  Vec in = randn(n, 17), out(n);
  for (auto _ : s) gelu_forward(pool(), out.data(), in.data(), n);
  rate(s, 2.0 * n * kF);
}

void BM_gelu_bwd(benchmark::State& s) {
  const std::size_t n = kN * kFFN;
  Vec in = randn(n, 17), dout = randn(n, 18), din(n);
  for (auto _ : s) gelu_backward(pool(), din.data(), in.data(), dout.data(), n);
  rate(s, 4.0 * n * kF);
}

void BM_dropout_fwd(benchmark::State& s) {
  const std::size_t n = kN * kC;
  Vec in = randn(n, 19), out(n);
  for (auto _ : s) dropout_forward(pool(), out.data(), in.data(), n, kDrop, 5);
  rate(s, 2.0 * n * kF);
}

void BM_dropout_bwd(benchmark::State& s) {
  const std::size_t n = kN * kC;
  Vec dout = randn(n, 19), din(n);
  for (auto _ : s) dropout_backward(pool(), din.data(), dout.data(), n, kDrop, 5);
  rate(s, 3.0 * n * kF);
}

void BM_residual_fwd(benchmark::State& s) {
  const std::size_t n = kN * kC;
  Vec a = randn(n, 20), b = randn(n, 21), out(n);
  for (auto _ : s) residual_forward(pool(), out.data(), a.data(), b.data(), n);
  rate(s, 3.0 * n * kF);
}

void BM_residual_bwd(benchmark::State& s) {
  const std::size_t n = kN * kC;
  Vec da(n), db(n), dout = randn(n, 22);
  for (auto _ : s) residual_backward(pool(), da.data(), db.data(), dout.data(), n);
  rate(s, 5.0 * n * kF);
}

void BM_pooler_tanh_fwd_bwd(benchmark::State& s) {
  const std::size_t n = static_cast<std::size_t>(kB) * kC;
  Vec in = randn(n, 23), out(n), dout = randn(n, 24), din(n);
  for (auto _ : s) {
    tanh_forward(pool(), out.data(), in.data(), n);
    tanh_backward(pool(), din.data(), out.data(), dout.data(), n);
  }
  rate(s, 5.0 * n * kF);
}

void BM_softmax_xent_fwd_bwd(benchmark::State& s) {
  Vec logits = randn(kB * kK, 25), losses(kB), probs(kB * kK), dlogits(kB * kK);
  std::vector<std::int32_t> labels(kB);
  for (int b = 0; b < kB; ++b) labels[b] = b % kK;
  for (auto _ : s) {
    softmax_xent_forward(pool(), losses.data(), probs.data(), logits.data(), labels.data(), kB, kK);
    softmax_xent_backward(pool(), dlogits.data(), probs.data(), labels.data(), kB, kK, 1.0f / kB);
  }
  rate(s, 5.0 * kB * kK * kF);
}

void setup() { strata::backend::set_blas_threads(bench_threads()); }

}  // namespace

BENCHMARK(BM_embedding_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_embedding_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_layernorm_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_layernorm_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_linear_fwd)
    ->Args({kC, 3 * kC})
    ->Args({kC, kC})
    ->Args({kC, kFFN})
    ->Args({kFFN, kC})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_linear_bwd)
    ->Args({kC, 3 * kC})
    ->Args({kC, kC})
    ->Args({kC, kFFN})
    ->Args({kFFN, kC})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_attention_fwd)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_attention_bwd)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gelu_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gelu_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_dropout_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_dropout_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_residual_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_residual_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_pooler_tanh_fwd_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_softmax_xent_fwd_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();

int main(int argc, char** argv) {
  setup();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
