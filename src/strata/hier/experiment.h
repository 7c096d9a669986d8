// Experiments that compare hierarchical and flat classifiers: `compare` on a real data set (flat with matched
// resources, induced tree, random tree with the same group sizes, a given true tree) and `simulate`, the
// authors' hierarchical-Gaussian simulation. Both return plain result structs; the CLI prints and saves them.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/data/dataset.h"
#include "strata/hier/classifier.h"
#include "strata/hier/induce.h"
#include "strata/hier/metrics.h"

namespace strata::hier {

using ProgressFn = std::function<void(const std::string&)>;

struct CompareConfig {
  LearnerConfig learner;             // per-node learner; the flat model gets matched resources
  InduceConfig induce;
  std::size_t per_class = 0;         // 0: all training data
  int seeds = 10;
  std::uint64_t seed = 0;
  std::optional<LabelTree> true_tree;
  int threads = 0;
};

struct CompareRow {
  std::string name;                  // flat | induced | random | true
  std::vector<double> accuracy;      // per seed
  std::vector<double> fit_seconds;   // per seed (induced: includes the induction)
  std::vector<double> groups;        // per seed: top-level groups (1 for flat)
  std::vector<double> ari;           // per seed, vs the true tree's top-level partition (when given)
  MeanSe acc() const { return mean_se(accuracy); }
  double learning_efficiency = 0;    // mean error of flat / mean error of this row (1 for flat)
};

struct CompareResult {
  std::vector<CompareRow> rows;
  std::vector<LabelTree> induced_trees;  // one per seed
  std::string to_table() const;
  std::string to_json() const;
};

CompareResult run_compare(const data::Dataset& train, const data::Dataset& test, const CompareConfig& cfg,
                          const ProgressFn& progress = nullptr);

struct SimulateConfig {
  std::vector<double> sigma2_group = {0.02, 0.1, 0.3};
  std::vector<int> classes_per_group = {4};
  std::vector<int> samples_per_class = {5, 10, 20, 50};
  double sigma2_class = 0.1;
  int groups = 4;                    // centres at (±1, ±1)
  int test_per_class = 100;
  int reps = 10;
  int trees = 50;                    // per-node forest size (flat: matched)
  std::uint64_t seed = 0;
  int threads = 0;
};

struct SimulateRow {
  double sigma2_group;
  int classes_per_group, samples_per_class, reps;
  MeanSe ari, ari_permuted, le_true, le_induced, acc_flat, acc_true, acc_induced;
};

// The hierarchical Gaussians: returns (train, test) with group_of_class filled.
void simulate_data(int groups, int classes_per_group, int n_train, int n_test, double sigma2_group,
                   double sigma2_class, std::uint64_t seed, data::Dataset& train, data::Dataset& test,
                   std::vector<int>& group_of_class);

std::vector<SimulateRow> run_simulation(const SimulateConfig& cfg, const ProgressFn& progress = nullptr);
std::string simulation_csv(const std::vector<SimulateRow>& rows);
std::string simulation_svg(const std::vector<SimulateRow>& rows);

}  // namespace strata::hier
