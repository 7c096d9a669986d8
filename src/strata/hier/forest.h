// Random forest of CART trees (gini) on pre-binned features: the default base learner of the hierarchy toolkit.
// Trees are grown in parallel, on threads and optionally over the ranks of a process group; every tree draws its
// randomness from derive_seed(seed, tree), so a fitted forest depends only on the data, the config and the seed,
// never on the thread count or the number of processes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "strata/hier/classifier.h"
#include "strata/hier/kept_pool.h"

namespace strata::dist {
class ProcessGroup;
}

namespace strata::hier {

// Training: every feature is binned once into <= 256 bins (one bin per distinct value when a feature has at most
// 256, as Fashion-MNIST pixels do, so splits are then exactly those of an unbinned CART; quantile bins of a 30000-row
// sample otherwise). Each tree draws a bootstrap sample as per-row multiplicities, and at each node tries features in
// random order until max_features non-constant ones were seen (features constant in a node are remembered and
// skipped below it), choosing the split with the lowest weighted gini; thresholds sit midway between the
// neighbouring values present in the node. Nodes split until pure, max_depth, or fewer than 2 * min_samples_leaf
// rows (min_samples_leaf counts distinct rows, as in scikit-learn).
// Honest trees: the distinct in-bag rows are shuffled; the first honest_fraction grow the structure, the rest
// (with their bootstrap multiplicities) estimate the leaf distributions. A leaf that receives no estimation rows
// takes the estimation distribution of its nearest ancestor that did (the root always does), so no leaf reuses
// the structure sample; only when the sample has a single row does the tree fall back to structure estimates.
class RandomForest : public Classifier {
 public:
  // A node of a flat tree. Internal: go left iff x[feature] <= threshold (NaN goes right). Leaf: feature == -1 and
  // left is the offset of the leaf's class distribution in the tree's values (num_classes() floats).
  struct Node {
    std::int32_t feature = -1;
    float threshold = 0.0f;
    std::int32_t left = -1;
    std::int32_t right = -1;
  };
  struct Tree {
    std::vector<Node> nodes;    // nodes[0] is the root; children always have larger indices than their parent
    std::vector<float> values;  // (leaves, num_classes) leaf class distributions, each row sums to 1
  };

  explicit RandomForest(ForestConfig cfg = {}) : cfg_(cfg) {}

  std::string kind() const override { return "forest"; }
  int num_classes() const override { return n_classes_; }
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) override;
  // Checks for cancellation before binning and before each tree; a cancelled fit leaves the forest unfitted.
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes,
           ProgressSink* progress) override;

  // Fits that follow grow the trees over the group's ranks (tree t on rank t % size) and hand every rank all of
  // them, so each rank holds the forest a one-process fit gives, bit for bit. Every rank must call fit with the
  // same data and config. Null (the default) or a group of one: this process grows every tree. Where the fit runs
  // is not configuration (it never changes the result), so it is not saved. Under a group of several,
  // cancellation is decided jointly: a request on any rank cancels the fit on every rank, checked once after
  // the rank's trees (each rank skips its trees not yet started), so no rank waits for one that left.
  void set_process_group(dist::ProcessGroup* group) { group_ = group; }
  dist::ProcessGroup* process_group() const { return group_; }

  // Mean over trees of the leaf class distributions (as scikit-learn does). Blocks of rows run on a pool the
  // forest keeps from its first call on (config().threads threads), or on the caller's pool.
  void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const override;
  void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba, ThreadPool& pool) const override;
  void save(Writer& w) const override;
  void load(Reader& r) override;

  // Leaf node index (into tree(t).nodes) reached by each of the n rows in tree t.
  std::vector<int> apply(const float* x, std::size_t n, std::size_t d, int tree) const;
  int n_trees() const { return static_cast<int>(trees_.size()); }
  std::size_t n_features() const { return d_; }
  const Tree& tree(int t) const { return trees_.at(static_cast<std::size_t>(t)); }
  // Mean decrease in gini impurity per feature (weighted by node sample weight), normalised per tree, then averaged.
  const std::vector<double>& feature_importances() const { return importances_; }
  const ForestConfig& config() const { return cfg_; }

 private:
  // Prediction layout derived from trees_ by build_packed() after fit and load (never saved). Each feature's
  // distinct thresholds over all trees are sorted; a value's bin is #{thresholds < v}, so "v <= threshold j" is
  // exactly "bin <= j" and trees can walk 8-byte nodes over uint8-binned rows (a 784-byte row instead of 3136).
  struct PackedNode {
    std::uint32_t child;    // internal: left child (right is child + 1); leaf: the node itself
    std::uint16_t feature;  // leaf: 0
    std::uint8_t bin;       // go right iff row bin > bin; leaf: 255, so a leaf maps to itself
    std::uint8_t unused = 0;
  };
  struct PackedTree {
    std::vector<PackedNode> nodes;         // breadth-first, siblings adjacent; nodes[0] is the root
    std::vector<std::uint32_t> leaf_vals;  // (nodes) offset of a leaf's distribution in the tree's values
    int depth = 0;                         // deepest leaf: after this many steps every row sits in a leaf
  };
  struct Packed {
    bool usable = false;  // false when d >= 2^16, a feature has > 255 distinct thresholds, or one is NaN
    std::vector<std::uint32_t> thr_begin;  // (d + 1) feature f's thresholds are thresholds[thr_begin[f]..[f+1])
    std::vector<float> thresholds;         // per feature, sorted and distinct
    std::vector<PackedTree> trees;
  };

  void check_fitted(std::size_t d, const char* what) const;
  void build_packed();
  void predict_rows(const float* x, std::size_t n, std::size_t d, float* proba, ThreadPool* pool) const;
  void predict_block_packed(const float* x, std::size_t rows, std::size_t d, float* out) const;
  void predict_block_float(const float* x, std::size_t rows, std::size_t d, float* out) const;

  ForestConfig cfg_;
  dist::ProcessGroup* group_ = nullptr;  // not owned; see set_process_group
  int n_classes_ = 0;
  std::size_t d_ = 0;
  std::vector<Tree> trees_;
  std::vector<double> importances_;  // (d)
  Packed packed_;
  // The model owns its prediction pool (not a process-wide one) so that forests predicting on different threads
  // never wait for each other; it is created lazily because most forests inside a hierarchical classifier only
  // ever predict on the classifier's pool. Rows never depend on its size.
  KeptPool pool_;
};

}  // namespace strata::hier
