// Random-tree and resource-matched flat baselines.
#include "strata/hier/baselines.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "strata/core/rng.h"

namespace strata::hier {

LabelTree random_tree_like(const LabelTree& t, std::uint64_t seed) {
  t.validate("random_tree_like");
  LabelTree r = t;
  std::vector<int> leaves;
  for (int v = 0; v < static_cast<int>(r.nodes.size()); ++v)
    if (r.is_leaf(v)) leaves.push_back(v);
  std::vector<int> ids;
  for (int v : leaves) ids.push_back(r.nodes[v].class_id);
  Rng rng(derive_seed(seed, 0x7261u));
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    r.nodes[leaves[i]].class_id = ids[i];
    r.nodes[leaves[i]].name = r.class_names[ids[i]];
  }
  return r;
}

int decision_levels(const LabelTree& t) {
  int best = 0;
  for (int v = 0; v < static_cast<int>(t.nodes.size()); ++v) {
    if (!t.is_leaf(v)) continue;
    int levels = 0;
    for (int a : t.path_to_root(v))
      if (t.nodes[a].children.size() >= 2) ++levels;
    best = std::max(best, levels);
  }
  return best;
}

ForestConfig matched_flat_forest(const ForestConfig& per_node, const LabelTree& t) {
  int models = 0;
  for (const auto& nd : t.nodes) models += nd.children.size() >= 2;
  ForestConfig f = per_node;
  f.n_trees = per_node.n_trees * std::max(1, models);
  f.max_depth = per_node.max_depth * std::max(1, decision_levels(t));
  return f;
}

LearnerConfig matched_flat_learner(const LearnerConfig& per_node, const LabelTree& t) {
  LearnerConfig c = per_node;
  if (c.kind == "forest") c.forest = matched_flat_forest(per_node.forest, t);
  return c;
}

}  // namespace strata::hier
