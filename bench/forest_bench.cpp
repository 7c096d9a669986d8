// Random forest on Fashion-MNIST: fit and predict seconds and test accuracy, to compare with
// bench/peers/sklearn_forest.py (scikit-learn's RandomForestClassifier with the same settings).
// Usage: forest_bench [--trees 100] [--max-depth 20] [--threads 2] [--reps 3] [--train N] [--honest]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "strata/core/error.h"
#include "strata/data/dataset.h"
#include "strata/hier/forest.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of the whole process (all threads): a fairer figure than wall time on a shared, loaded machine.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  strata::hier::ForestConfig cfg;
  cfg.n_trees = 100;
  cfg.max_depth = 20;
  cfg.threads = 2;
  int reps = 3;
  std::size_t train_rows = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "forest_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (a == "--trees") cfg.n_trees = next();
    else if (a == "--max-depth") cfg.max_depth = next();
    else if (a == "--threads") cfg.threads = next();
    else if (a == "--reps") reps = next();
    else if (a == "--train") train_rows = static_cast<std::size_t>(next());
    else if (a == "--seed") cfg.seed = static_cast<std::uint64_t>(next());
    else if (a == "--honest") cfg.honest = true;
    else {
      std::fprintf(stderr, "usage: forest_bench [--trees N] [--max-depth D] [--threads T] [--reps R] [--train N] "
                           "[--seed S] [--honest]\n");
      return 2;
    }
  }
  try {
    strata::data::Dataset train = strata::data::load("fashion-mnist:train");
    const strata::data::Dataset test = strata::data::load("fashion-mnist:test");
    if (train_rows > 0 && train_rows < train.n) {
      train.n = train_rows;
      train.x.resize(train.n * train.d);
      train.y.resize(train.n);
    }
    std::printf("fashion-mnist train %zu x %zu, test %zu; trees %d max_depth %d threads %d\n", train.n, train.d,
                test.n, cfg.n_trees, cfg.max_depth, cfg.threads);
    std::vector<double> fits, preds;
    for (int r = 0; r < reps; ++r) {
      strata::hier::RandomForest rf(cfg);
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      rf.fit(train.x.data(), train.n, train.d, train.y.data(), train.num_classes());
      const double fit_s = seconds_since(t0), fit_cpu = cpu_seconds() - c0;
      std::vector<float> proba(test.n * rf.num_classes());  // (n_test, classes)
      t0 = std::chrono::steady_clock::now();
      c0 = cpu_seconds();
      rf.predict_proba(test.x.data(), test.n, test.d, proba.data());
      const double pred_s = seconds_since(t0), pred_cpu = cpu_seconds() - c0;
      std::size_t correct = 0;
      for (std::size_t i = 0; i < test.n; ++i) {
        const float* p = proba.data() + i * rf.num_classes();
        correct += (std::max_element(p, p + rf.num_classes()) - p) == test.y[i];
      }
      std::size_t nodes = 0;
      for (int t = 0; t < rf.n_trees(); ++t) nodes += rf.tree(t).nodes.size();
      std::printf("rep %d: fit %.3f s (cpu %.3f)  predict %.3f s (cpu %.3f)  accuracy %.4f  nodes/tree %.0f\n", r,
                  fit_s, fit_cpu, pred_s, pred_cpu, static_cast<double>(correct) / test.n,
                  static_cast<double>(nodes) / rf.n_trees());
      std::fflush(stdout);
      fits.push_back(fit_s);
      preds.push_back(pred_s);
    }
    auto med = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::printf("strata forest: fit min %.3f median %.3f s; predict min %.3f median %.3f s\n",
                *std::min_element(fits.begin(), fits.end()), med(fits),
                *std::min_element(preds.begin(), preds.end()), med(preds));
  } catch (const strata::Error& e) {
    std::fprintf(stderr, "forest_bench: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
