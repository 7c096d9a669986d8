// Baselines the induced hierarchy is compared against: a random tree with the same shape, and a flat learner
// given the same resources as the whole hierarchical classifier (the authors' resource matching).
#pragma once
#include <cstdint>

#include "strata/core/label_tree.h"
#include "strata/hier/classifier.h"

namespace strata::hier {

// A random tree with exactly the shape of t: the class ids at the leaves are permuted (seeded), so a depth-2
// tree keeps its multiset (and order) of group sizes while the classes inside the groups are shuffled.
LabelTree random_tree_like(const LabelTree& t, std::uint64_t seed);

// Decision levels of t: the largest number of nodes with >= 2 children on a root-to-leaf path (2 for the
// paper's coarse/fine trees, 1 for a flat tree).
int decision_levels(const LabelTree& t);

// Resource matching after Helm et al.: the flat forest gets as many trees as the hierarchical classifier has
// in total, n_trees × (internal nodes with >= 2 children, i.e. coarse + Σ fine models), and depth
// max_depth × decision_levels(t) — twice the per-node depth for a two-level tree (a flat tree is unchanged;
// max_depth 0, unlimited, stays 0). Everything else is copied from per_node.
ForestConfig matched_flat_forest(const ForestConfig& per_node, const LabelTree& t);

// matched_flat_forest for forests; any other learner (logistic) is returned unchanged.
LearnerConfig matched_flat_learner(const LearnerConfig& per_node, const LabelTree& t);

}  // namespace strata::hier
