// Experiments that compare hierarchical and flat classifiers: `compare` on a real data set (flat with matched
// resources, induced tree, random tree with the same group sizes, a given true tree) and `simulate`, the
// authors' hierarchical-Gaussian simulation. Both return plain result structs; the CLI prints and saves them.
// While they run, each seed / setting is reported to a ProgressSink, which can also cancel them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/core/progress.h"
#include "strata/data/dataset.h"
#include "strata/hier/classifier.h"
#include "strata/hier/induce.h"
#include "strata/hier/metrics.h"

namespace strata::dist {
class ProcessGroup;
}

namespace strata::hier {

struct CompareConfig {
  LearnerConfig learner;  // per-node learner; the flat model gets matched resources
  InduceConfig induce;
  std::size_t per_class = 0;  // 0: all training data
  int seeds = 10;
  std::uint64_t seed = 0;
  std::optional<LabelTree> true_tree;
  int threads = 0;
};

struct CompareRow {
  std::string name;                 // flat | induced | random | true
  std::vector<double> accuracy;     // per seed
  std::vector<double> fit_seconds;  // per seed (induced: includes the induction)
  std::vector<double> groups;       // per seed: top-level groups (1 for flat)
  std::vector<double> ari;          // per seed, vs the true tree's top-level partition (when given)
  MeanSe acc() const { return mean_se(accuracy); }
  double learning_efficiency = 0;  // mean error of flat / mean error of this row (1 for flat)
};

struct CompareResult {
  std::vector<CompareRow> rows;
  std::vector<LabelTree> induced_trees;  // one per seed
  std::string to_table() const;
  std::string to_json() const;
};

// Reports one ResultProgress per seed ("compare", label "seed S"; values: each row's accuracy by row name, then
// "seconds" for the seed; summary: the line the CLI prints). Cancellation is checked between seeds and inside
// every fit (between node models and trees); a cancelled run throws Cancelled.
// With a process group of several (every rank calling with the same arguments), rank r runs the seeds s with
// s % size == r, a round of `size` seeds at a time; after each round every rank receives the round's results and
// reports them in seed order, so every rank returns (and reports) what one process would, apart from the
// measured seconds. Cancellation is then decided jointly before each round (a request on any rank stops every
// rank), not inside the fits. Null or a group of one: this process runs every seed.
CompareResult run_compare(const data::Dataset& train, const data::Dataset& test, const CompareConfig& cfg,
                          ProgressSink& progress = ProgressSink::none(), dist::ProcessGroup* group = nullptr);

struct SimulateConfig {
  std::vector<double> sigma2_group = {0.02, 0.1, 0.3};
  std::vector<int> classes_per_group = {4};
  std::vector<int> samples_per_class = {5, 10, 20, 50};
  double sigma2_class = 0.1;
  int groups = 4;  // centres at (±1, ±1)
  int test_per_class = 100;
  int reps = 10;
  int trees = 50;  // per-node forest size (flat: matched)
  std::uint64_t seed = 0;
  int threads = 0;
};

struct SimulateRow {
  double sigma2_group;
  int classes_per_group, samples_per_class, reps;
  MeanSe ari, ari_permuted, le_true, le_induced, acc_flat, acc_true, acc_induced;
};

// The hierarchical Gaussians: returns (train, test) with group_of_class filled.
void simulate_data(int groups, int classes_per_group, int n_train, int n_test, double sigma2_group, double sigma2_class,
                   std::uint64_t seed, data::Dataset& train, data::Dataset& test, std::vector<int>& group_of_class);

// Reports one ResultProgress per setting ("simulate"; values: ari, ari_permuted, le_true, le_induced, acc_flat,
// acc_true, acc_induced, each the mean over replicates as in the returned row). Cancellation is checked between
// settings and replicates and inside every fit; a cancelled run throws Cancelled.
std::vector<SimulateRow> run_simulation(const SimulateConfig& cfg, ProgressSink& progress = ProgressSink::none());
std::string simulation_csv(const std::vector<SimulateRow>& rows);
std::string simulation_svg(const std::vector<SimulateRow>& rows);

}  // namespace strata::hier
