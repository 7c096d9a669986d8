// Experiments that compare hierarchical and flat classifiers: `compare` on a real data set (flat with matched
// resources, induced tree, random tree with the same group sizes, a given true tree) and `simulate`, the
// authors' hierarchical-Gaussian simulation (simulation.h), in any number of dimensions. Both return plain result
// structs; the CLI prints and saves them. While they run, each seed / setting is reported to a ProgressSink, which
// can also cancel them. Presets: strata's resource matching (the default) and the authors' node forests
// (docs/hierarchy-resources.md says what each favours).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/core/progress.h"
#include "strata/data/dataset.h"
#include "strata/hier/classifier.h"
#include "strata/hier/hierarchical.h"
#include "strata/hier/induce.h"
#include "strata/hier/metrics.h"
#include "strata/hier/simulation.h"

namespace strata::dist {
class ProcessGroup;
}

namespace strata::hier {

// How the flat forest's resources are matched to the hierarchical classifier's.
enum class FlatMatch {
  kPath,  // strata: total trees of all node models; depth = per-node depth × the tree's decision levels
  kNode,  // the authors' preset: total trees of all node models; each flat tree as deep as one node's tree
};

// Forest sizes per node: the root (coarse) model may get its own number of trees.
struct NodeForests {
  int coarse_trees = 0;  // 0: the learner's n_trees, like every other node
  FlatMatch flat_match = FlatMatch::kPath;
};

// The flat learner matched to a hierarchical classifier on tree t whose node models are `per_node` (forests:
// n_trees each, the root coarse_trees when set): n_trees = coarse + Σ fine, max_depth per FlatMatch. Non-forest
// learners are returned unchanged. With the defaults this is baselines.h's matched_flat_learner.
LearnerConfig matched_flat(const LearnerConfig& per_node, const LabelTree& t, const NodeForests& nodes);
// A learner factory for HierarchicalClassifier that gives the root model (node 0) nodes.coarse_trees trees;
// null when coarse_trees is 0 (every node the same). seed: the HierarchicalConfig's seed.
LearnerFactory node_forest_factory(const NodeForests& nodes, std::uint64_t seed);

// A named setting of learner, node forests and induction.
struct Preset {
  std::string name;
  LearnerConfig learner;
  NodeForests nodes;
  InduceConfig induce;
};
// "strata" (the defaults: 100 trees per node, unlimited depth, flat matched by FlatMatch::kPath, class means →
// CMDS → GMM/BIC) and "authors" (Helm et al.: 25 trees on the coarse node, 10 per fine node, depth 10, flat forest
// with the total number of trees at depth 10, class means → CMDS → GMM/BIC over the four covariance types).
// bad_input for any other name.
Preset preset(const std::string& name);

// Hard-routing diagnostics of a hierarchical prediction. proba: (n, K) rows; group_of_class: the top-level group
// of every class. coarse_accuracy: the group of argmax_g Σ_{c in g} p(c) is the true class's group; fine_given_group:
// among those rows, the most probable class inside the true group is the true class (NaN when no row qualifies);
// hard_accuracy = coarse_accuracy × fine_given_group (what hard routing would score).
struct RoutingScore {
  double coarse_accuracy = 0, fine_given_group = 0, hard_accuracy = 0;
};
RoutingScore routing_score(const float* proba, std::size_t n, int K, const std::vector<int>& group_of_class,
                           const std::vector<int>& truth);

struct CompareConfig {
  LearnerConfig learner;  // per-node learner; the flat model gets matched resources
  NodeForests nodes;      // the coarse node's trees and the flat matching rule
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
  std::vector<double> coarse;       // per seed: top-level accuracy (not for flat)
  std::vector<double> fine;         // per seed: fine accuracy given the right group (not for flat)
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
  int groups = 4;  // default layout: centres at (±1, ±1)
  int test_per_class = 100;
  // The rest of the data (simulation.h): dims, informative, sigma2_between, features, sigma2_noise. Its group,
  // class, sample and variance fields are taken from the lists above, setting by setting.
  SimSpec data;
  int reps = 10;
  int trees = 50;  // per-node forest size (flat: matched)
  int max_depth = 0;  // per-node forest depth (0: unlimited)
  NodeForests nodes;  // the coarse node's trees and the flat matching rule
  std::uint64_t seed = 0;
  int threads = 0;
};

struct SimulateRow {
  double sigma2_group;
  int classes_per_group, samples_per_class, reps;
  MeanSe ari, ari_permuted, le_true, le_induced, acc_flat, acc_true, acc_induced;
  // Added after the original columns: the random tree with the induced tree's group sizes, the paired accuracy
  // differences against flat (per replicate: hierarchical − flat), and the hard-routing diagnostics.
  MeanSe le_random, acc_random, diff_true, diff_induced, diff_random;
  MeanSe coarse_true, fine_true, coarse_induced, fine_induced;
};

// Reports one ResultProgress per setting ("simulate"; values: ari, ari_permuted, le_true, le_induced, acc_flat,
// acc_true, acc_induced, each the mean over replicates as in the returned row). Cancellation is checked between
// settings and replicates and inside every fit; a cancelled run throws Cancelled.
std::vector<SimulateRow> run_simulation(const SimulateConfig& cfg, ProgressSink& progress = ProgressSink::none());
std::string simulation_csv(const std::vector<SimulateRow>& rows);
std::string simulation_svg(const std::vector<SimulateRow>& rows);

}  // namespace strata::hier
