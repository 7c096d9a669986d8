// The hierarchical classifier: a local classifier per parent node of a label tree (a coarse model at the root,
// one fine model per group, deeper if the tree is deeper), combined by the product rule
// P(y|x) = Π over the root-to-leaf path of P(child | x, node). scikit-learn-like: the constructor stores the
// configuration, fit() returns the fitted estimator, predict_proba columns are the sorted class ids 0..K-1.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/core/progress.h"
#include "strata/data/dataset.h"
#include "strata/hier/classifier.h"
#include "strata/hier/kept_pool.h"

namespace strata::dist {
class ProcessGroup;
}

namespace strata::hier {

struct HierarchicalConfig {
  LearnerConfig learner;  // the per-node learner; its seed is replaced by node_seed(seed, node)
  // kSoft: the product rule over every path. kHard: follow the most probable child from the root and put
  // probability 1 on the class of the leaf reached (ties go to the first child), so rows are one-hot.
  enum class Routing { kSoft, kHard } routing = Routing::kSoft;
  std::uint64_t seed = 0;
  int threads = 0;  // handed to the learner when its own threads setting is 0; results never depend on it
};

// Makes an unfitted learner for a node; the default is make_classifier. A custom learner can be fitted and used,
// but save()/load() go through save_classifier/load_classifier, so only kinds those know can be saved.
using LearnerFactory = std::function<std::unique_ptr<Classifier>(const LearnerConfig&)>;

class HierarchicalClassifier {
 public:
  explicit HierarchicalClassifier(HierarchicalConfig cfg, LearnerFactory factory = nullptr);
  HierarchicalClassifier(HierarchicalClassifier&&) noexcept;
  HierarchicalClassifier& operator=(HierarchicalClassifier&&) noexcept;
  ~HierarchicalClassifier();

  // Fits one model per internal node with >= 2 children that have training examples, on the rows of the
  // node's classes, labelled by the child subtree holding the row's class. A node with one such child passes
  // probability 1 to it without training; a child without training rows gets probability 0. tree.class_names
  // must equal ds.classes. Throws bad_input on mismatches.
  // progress (optional, never changes the result) is checked for cancellation between node models and, through
  // the learner, inside them (between trees); a cancelled fit throws Cancelled and leaves the estimator unfitted.
  HierarchicalClassifier& fit(const data::Dataset& ds, const LabelTree& tree, ProgressSink* progress = nullptr);
  // The same fit on rows the caller owns, read in place and never copied whole (the Python bindings pass numpy
  // arrays this way): x (n, d) row-major, y (n) ids of tree.class_names; `source` names the data in messages.
  HierarchicalClassifier& fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y,
                              const LabelTree& tree, ProgressSink* progress = nullptr,
                              const std::string& source = "training data");

  // x: (n, d) row-major; proba: (n, K), rows sum to 1. Each node model predicts its rows in one batch, all on
  // one thread pool (config().threads) that the classifier creates on its first prediction and keeps.
  void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const;
  std::vector<int> predict(const float* x, std::size_t n, std::size_t d) const;  // argmax, ties to the lower id

  // Fits that follow spread each forest node model's trees over the group's ranks (RandomForest::
  // set_process_group), so every rank ends with the model a one-process fit gives, bit for bit; every rank must
  // call fit with the same data, tree and config. Other learners are fitted whole on every rank. Null (the
  // default) or a group of one: this process does everything. Under a group of several, cancellation is decided
  // jointly before each node model and after each forest's trees (a request on any rank stops every rank); other
  // learners are not cancelled part way. Not saved: where a fit runs never changes its result.
  HierarchicalClassifier& set_process_group(dist::ProcessGroup* group);

  // Changes how predictions combine the node models; fitted state is untouched.
  HierarchicalClassifier& set_routing(HierarchicalConfig::Routing routing);

  const HierarchicalConfig& config() const { return cfg_; }
  // The fitted tree, its nodes numbered depth-first as LabelTree::from_json numbers them (node_seed uses these).
  const LabelTree& tree() const { return tree_; }
  const std::vector<std::string>& classes() const { return tree_.class_names; }
  int num_classes() const { return tree_.num_classes(); }
  std::size_t num_features() const { return d_; }
  int num_node_models() const;
  double fit_seconds() const { return fit_seconds_; }
  bool fitted() const { return fitted_; }

  // Binary file: magic "STRATA-HIER\n", u32 version, config, tree JSON, classes, feature dim, fit seconds, then
  // per node (in id order) whether it has a model, its local-label -> child-position map and the model
  // (save_classifier). Written atomically. load() validates everything and reports truncation with the offset.
  void save(const std::string& path) const;
  static HierarchicalClassifier load(const std::string& path);

  // The learner seed of a node: derive_seed(seed, node).
  static std::uint64_t node_seed(std::uint64_t seed, int node);

 private:
  struct Rows {      // the training rows, borrowed
    const float* x;  // (n, d)
    std::size_t n, d;
    const std::int32_t* y;  // (n)
    std::string source;
    const float* row(std::size_t i) const { return x + i * d; }
  };
  struct NodeModel {
    std::vector<int> local_child;       // local label -> position in the node's children
    std::unique_ptr<Classifier> model;  // null: no training (one or no child with examples)
  };
  // Per-class training row counts; bad_input unless ds and tree fit together.
  static std::vector<std::size_t> check_fit_input(const Rows& ds, const LabelTree& tree);
  // Fits node v's model on the rows of its classes (xb, yb: scratch kept across nodes).
  void fit_node(int v, const Rows& ds, const std::vector<std::size_t>& count, ProgressSink* progress,
                std::vector<float>& xb, std::vector<std::int32_t>& yb);
  // (n, m) probabilities of the m children of node v for the given rows.
  void child_proba(int v, const float* x, std::size_t n, ThreadPool& pool, std::vector<float>& out) const;
  void predict_soft(const float* x, std::size_t n, ThreadPool& pool, float* proba) const;
  void predict_hard(const float* x, std::size_t n, ThreadPool& pool, float* proba) const;

  HierarchicalConfig cfg_;
  LearnerFactory factory_;
  dist::ProcessGroup* group_ = nullptr;  // not owned; see set_process_group
  LabelTree tree_;
  std::size_t d_ = 0;
  std::vector<NodeModel> nodes_;  // index = tree node id
  double fit_seconds_ = 0;
  bool fitted_ = false;
  // One pool for every node model's predict_proba: with a pool per call, a forest per node would start and stop
  // its threads once per node per prediction. Owned by the classifier (not process-wide) so that classifiers
  // predicting on different threads never wait for each other; rows never depend on the pool's size.
  KeptPool pool_;
};

}  // namespace strata::hier
