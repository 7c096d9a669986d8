// Random forest on Fashion-MNIST: fit and predict seconds and test accuracy, to compare with
// bench/peers/sklearn_forest.py (scikit-learn's RandomForestClassifier with the same settings).
// Usage: forest_bench [--trees 100] [--max-depth 20] [--threads 2] [--reps 3] [--predict-reps 1] [--train N]
//                     [--seed S] [--honest] [--save PATH] [--load PATH]
// --predict-reps P times prediction P times per fit; --save/--load skip refitting while iterating on prediction;
// --check compares predict_proba bit for bit with the plain float walk of apply() on the whole test set.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/core/serialize.h"
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
  int reps = 3, predict_reps = 1;
  bool check = false;
  std::string save_path, load_path;
  std::size_t train_rows = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next_str = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "forest_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto next = [&]() -> int { return std::atoi(next_str().c_str()); };
    if (a == "--trees")
      cfg.n_trees = next();
    else if (a == "--max-depth")
      cfg.max_depth = next();
    else if (a == "--threads")
      cfg.threads = next();
    else if (a == "--reps")
      reps = next();
    else if (a == "--predict-reps")
      predict_reps = next();
    else if (a == "--save")
      save_path = next_str();
    else if (a == "--load")
      load_path = next_str();
    else if (a == "--train")
      train_rows = static_cast<std::size_t>(next());
    else if (a == "--seed")
      cfg.seed = static_cast<std::uint64_t>(next());
    else if (a == "--honest")
      cfg.honest = true;
    else if (a == "--check")
      check = true;
    else {
      std::fprintf(stderr,
                   "usage: forest_bench [--trees N] [--max-depth D] [--threads T] [--reps R] [--predict-reps P] "
                   "[--train N] [--seed S] [--honest] [--save PATH] [--load PATH] [--check]\n");
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
    std::printf("fashion-mnist train %zu x %zu, test %zu; trees %d max_depth %d threads %d\n", train.n, train.d, test.n,
                cfg.n_trees, cfg.max_depth, cfg.threads);
    std::vector<double> fits, fit_cpus, preds, pred_cpus;
    for (int r = 0; r < reps; ++r) {
      strata::hier::RandomForest rf(cfg);
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      if (!load_path.empty()) {
        const std::string bytes = strata::read_file(load_path);  // Reader keeps a reference
        strata::Reader rd(bytes, load_path);
        rf.load(rd);  // threads stay as configured: they are not part of the file
      } else {
        rf.fit(train.x.data(), train.n, train.d, train.y.data(), train.num_classes());
      }
      const double fit_s = seconds_since(t0), fit_cpu = cpu_seconds() - c0;
      if (!save_path.empty()) {
        strata::Writer w;
        rf.save(w);
        strata::write_file_atomic(save_path, w.bytes());
      }
      std::vector<float> proba(test.n * rf.num_classes());  // (n_test, classes)
      double pred_s = 0, pred_cpu = 0;
      for (int p = 0; p < predict_reps; ++p) {
        t0 = std::chrono::steady_clock::now();
        c0 = cpu_seconds();
        rf.predict_proba(test.x.data(), test.n, test.d, proba.data());
        pred_s = seconds_since(t0);
        pred_cpu = cpu_seconds() - c0;
        if (predict_reps > 1) std::printf("  predict %.3f s (cpu %.3f)\n", pred_s, pred_cpu);
        preds.push_back(pred_s);
        pred_cpus.push_back(pred_cpu);
      }
      if (check) {
        const int c = rf.num_classes();
        std::vector<float> ref(test.n * c, 0.0f);  // (n_test, classes)
        for (int t = 0; t < rf.n_trees(); ++t) {
          const auto leaves = rf.apply(test.x.data(), test.n, test.d, t);
          for (std::size_t i = 0; i < test.n; ++i)
            for (int k = 0; k < c; ++k) ref[i * c + k] += rf.tree(t).values[rf.tree(t).nodes[leaves[i]].left + k];
        }
        const float inv = 1.0f / static_cast<float>(rf.n_trees());
        std::size_t diff = 0;
        for (std::size_t k = 0; k < ref.size(); ++k) diff += ref[k] * inv != proba[k];
        std::printf("check: %zu of %zu probabilities differ from the float walk\n", diff, ref.size());
      }
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
      fit_cpus.push_back(fit_cpu);
    }
    auto med = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    auto mn = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
    std::printf(
        "strata forest: fit min %.3f median %.3f s (cpu min %.3f median %.3f); predict min %.3f median %.3f s "
        "(cpu min %.3f median %.3f)%s\n",
        mn(fits), med(fits), mn(fit_cpus), med(fit_cpus), mn(preds), med(preds), mn(pred_cpus), med(pred_cpus),
        load_path.empty() ? "" : "  [fit = load]");
  } catch (const strata::Error& e) {
    std::fprintf(stderr, "forest_bench: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
