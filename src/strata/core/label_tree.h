// The label tree shared by hier (which induces it) and nn (whose hierarchical head consumes it).
// Any depth; every class sits in exactly one leaf; a leaf holds one class. JSON in/out, DOT and SVG out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "strata/core/file.h"

namespace strata {

// The deepest label tree strata reads (edges from the root to a leaf); a tree file nests JSON two levels per tree
// level, so its JSON may nest kMaxTreeJsonDepth deep. Every tree operation is iterative, so the bound is about
// time and memory (a 10^4-deep tree loads in milliseconds), not the stack.
constexpr int kMaxTreeDepth = 10000;
constexpr int kMaxTreeJsonDepth = 2 * kMaxTreeDepth + 2;

struct LabelTree {
  struct Node {
    int parent = -1;            // -1 for the root
    std::vector<int> children;  // node ids; empty for a leaf
    int class_id = -1;          // >= 0 exactly for leaves
    std::string name;           // optional display name (groups: "g0", "g1", ...)
  };

  std::vector<Node> nodes;               // nodes[0] is the root
  std::vector<std::string> class_names;  // index = class id (sorted class order of the data set)

  int root() const { return 0; }
  int num_classes() const { return static_cast<int>(class_names.size()); }
  bool is_leaf(int node) const { return nodes[node].children.empty(); }

  // A depth-1 tree: the root's children are the classes.
  static LabelTree flat(const std::vector<std::string>& class_names);
  // A depth-2 tree: group_of_class[c] in [0, G) names the group of class c; groups are numbered in order of
  // first appearance of their smallest class. Empty group ids are dropped.
  static LabelTree from_groups(const std::vector<int>& group_of_class, const std::vector<std::string>& class_names);
  // A tree from a merge list as produced by agglomerative clustering (scipy linkage order): merges[i] = (a, b),
  // ids < n are classes, id n + i is the cluster formed at merge i. Gives a binary tree.
  static LabelTree from_merges(const std::vector<std::pair<int, int>>& merges,
                               const std::vector<std::string>& class_names);

  // Throws bad_input naming `where` unless: one root, parent/child links agree, no cycles, every class in
  // exactly one leaf, every leaf a class, internal nodes have >= 1 child.
  void validate(const std::string& where = "label tree") const;

  std::vector<int> classes_under(int node) const;  // sorted class ids in the subtree
  std::vector<int> leaf_of_class() const;          // class id -> leaf node id
  std::vector<int> path_to_root(int node) const;   // node, parent, ..., root
  int depth() const;                               // edges on the longest root-to-leaf path
  // The partition of classes induced by the root's children: group id per class.
  std::vector<int> top_level_groups() const;
  // Removes internal nodes with a single child (except leaves) so every internal node has >= 2 children
  // or is the root; keeps class assignment.
  LabelTree compacted() const;

  // {"classes": [...], "tree": {"name":..., "children": [...]}}; leaves {"class": "name"}. Compact (its size is
  // linear in the tree's, whatever its depth), with one node per line at the top two levels.
  std::string to_json() const;
  // bad_input naming `where` (and the node's path) on invalid JSON, nesting beyond kMaxTreeJsonDepth, a malformed
  // node or an invalid tree. Iterative: no recursion per level.
  static LabelTree from_json(const std::string& text, const std::string& where = "tree.json");
  static LabelTree load(const std::string& path);
  void save(const std::string& path) const;  // atomic: temporary name, then rename
  std::string to_dot() const;
  std::string to_svg() const;  // a top-down dendrogram-like drawing, readable without Graphviz
};

}  // namespace strata
