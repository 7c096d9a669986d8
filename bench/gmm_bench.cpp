// BIC model selection over k = 2..30 x {spherical, diag, tied, full} on 100 points x 16 dims, against
// scikit-learn's GaussianMixture loop (bench/peers/sklearn_gmm.py) on identical data, then micro benchmarks of
// single fits. Usage: gmm_bench [--runs N] [--no-peer] [--table: BIC of every cell, both sides]
// [Google Benchmark flags].
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "strata/core/thread_pool.h"
#include "strata/hier/gmm.h"

namespace {

using strata::hier::Covariance;

// Same generator as the peer: splitmix64 uniforms; normals as the sum of 12 uniforms minus 6 (exact in IEEE
// arithmetic in both languages, so the two programs see bit-identical data).
Eigen::MatrixXd bench_data(int n = 100, int d = 16, int clusters = 5) {
  std::uint64_t state = 12345;
  auto uniform = [&] {
    state += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  };
  Eigen::MatrixXd centers(clusters, d);
  for (int c = 0; c < clusters; ++c)
    for (int j = 0; j < d; ++j) centers(c, j) = uniform() * 8.0 - 4.0;
  Eigen::MatrixXd X(n, d);  // (n, d)
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) {
      double s = 0.0;
      for (int t = 0; t < 12; ++t) s += uniform();
      X(i, j) = centers(i % clusters, j) + (s - 6.0);
    }
  return X;
}

const std::vector<Covariance> kCovs = {Covariance::kSpherical, Covariance::kDiag, Covariance::kTied, Covariance::kFull};

struct Stats {
  double min_s, median_s;
};

Stats time_runs(int runs, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  double med = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  return {t.front(), med};
}

double field(const std::string& line, const std::string& key) {
  auto p = line.find(key + "=");
  return p == std::string::npos ? -1.0 : std::atof(line.c_str() + p + key.size() + 1);
}

void BM_FitGmm(benchmark::State& state) {
  static const Eigen::MatrixXd X = bench_data();
  strata::hier::GmmConfig cfg;
  cfg.k = static_cast<int>(state.range(0));
  cfg.cov = static_cast<Covariance>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(strata::hier::fit_gmm(X, cfg).lower_bound);
  state.SetLabel(strata::hier::covariance_name(cfg.cov));
}
BENCHMARK(BM_FitGmm)->ArgsProduct({{5, 30}, {0, 1, 2, 3}})->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  bool peer = true, table = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--no-peer"))
      peer = false;
    else if (!std::strcmp(argv[i], "--table"))
      table = true;
    else
      rest.push_back(argv[i]);
  }
  const Eigen::MatrixXd X = bench_data();
  std::printf("data: %ld x %ld, checksum %.12f; grid k = 2..30 x 4 covariance types; %d runs\n",
              static_cast<long>(X.rows()), static_cast<long>(X.cols()), X.sum(), runs);

  double peer_median = -1.0, peer_min = -1.0;
  if (peer) {
    std::filesystem::path script = std::filesystem::path(__FILE__).parent_path() / "peers" / "sklearn_gmm.py";
    if (!std::filesystem::exists(script)) script = "bench/peers/sklearn_gmm.py";
    std::string cmd =
        "/usr/bin/python3 " + script.string() + " --runs " + std::to_string(runs) + (table ? " --table" : "") + " 2>&1";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (std::fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
    std::printf("%s", out.c_str());
    peer_min = field(out, "min_s");
    peer_median = field(out, "median_s");
    if (peer_median <= 0) std::printf("peer: no timing line (is /usr/bin/python3 with scikit-learn there?)\n");
  }

  for (int threads : {1, strata::default_threads()}) {
    strata::hier::GmmSelection sel;
    Stats s = time_runs(runs, [&] { sel = strata::hier::select_gmm(X, 2, 30, kCovs, 1, 0, threads); });
    std::printf("strata select_gmm threads=%d min_s=%.6f median_s=%.6f best_k=%d best_cov=%s best_bic=%.6f", threads,
                s.min_s, s.median_s, sel.k, strata::hier::covariance_name(sel.cov), sel.best.bic(X));
    if (peer_median > 0)
      std::printf("  speedup vs sklearn: min %.1fx median %.1fx", peer_min / s.min_s, peer_median / s.median_s);
    std::printf("\n");
    if (table)
      for (const auto& row : sel.table)
        std::printf("strata cell %d %s %.6f\n", row.k, strata::hier::covariance_name(row.cov), row.bic);
    if (threads == strata::default_threads()) break;
  }
  std::fflush(stdout);

  int bargc = static_cast<int>(rest.size());
  benchmark::Initialize(&bargc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
