// Test helper: a small compare experiment (6 classes in 3 tight groups of simulated Gaussians, 5 trees per node,
// the true tree given), shared by the experiment and over-ranks tests.
#pragma once
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/data/dataset.h"
#include "strata/hier/experiment.h"

namespace strata::hier {

struct SmallCompare {
  data::Dataset tr, te;
  CompareConfig cfg;
  explicit SmallCompare(int seeds, int threads = 0) {
    std::vector<int> g;
    simulate_data(3, 2, 15, 10, 0.005, 0.05, 9, tr, te, g);
    cfg.learner.forest.n_trees = 5;
    cfg.induce.embed = "none";
    cfg.seeds = seeds;
    cfg.threads = threads;
    cfg.true_tree = LabelTree::from_groups(g, tr.classes);
  }
};

}  // namespace strata::hier
