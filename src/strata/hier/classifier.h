// The base-learner interface of the hierarchy toolkit: a fitted probabilistic classifier on dense features
// whose labels are 0..num_classes()-1. Forests and logistic regression implement it; the hierarchical
// classifier fits one per internal node of a label tree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "strata/core/progress.h"
#include "strata/core/serialize.h"
#include "strata/core/thread_pool.h"

namespace strata::hier {

class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual std::string kind() const = 0;  // "forest", "logistic"
  virtual int num_classes() const = 0;
  // x: (n, d) row-major; y: (n) in [0, n_classes). Classes with no examples get probability 0.
  virtual void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) = 0;
  // The same fit, cancellable: progress (may be null) is checked where the learner can stop (the forest between
  // trees), and a fit cancelled part way throws Cancelled and leaves the model unfitted. The sink never changes
  // the result. This default, for learners that cannot stop part way, checks once before fitting.
  virtual void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes,
                   ProgressSink* progress) {
    if (progress) progress->check_cancel();
    fit(x, n, d, y, n_classes);
  }
  // proba: (n, num_classes()) row-major, rows sum to 1.
  virtual void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const = 0;
  // The same on the caller's threads: a hierarchical classifier hands one pool to all its node models instead of
  // each call building its own. Rows never depend on the pool's size. Learners without host threads ignore it.
  virtual void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba, ThreadPool& /*pool*/) const {
    predict_proba(x, n, d, proba);
  }
  virtual void save(Writer& w) const = 0;
  virtual void load(Reader& r) = 0;
};

struct ForestConfig {
  int n_trees = 100;
  int max_depth = 0;  // 0: unlimited
  int min_samples_leaf = 1;
  int max_features = 0;  // 0: sqrt(d) (rounded down, at least 1); otherwise the number of features per split
  bool bootstrap = true;
  bool honest = false;  // split on one half of the (bootstrap) sample, estimate leaf posteriors on the other
  double honest_fraction = 0.5;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: default_threads(); results never depend on it
};

struct LogisticConfig {
  double l2 = 1e-4;  // penalty on the weights (not the intercepts), per example: loss/n + l2/2 * |W|^2
  int max_iter = 200;
  double tol = 1e-6;
  bool standardize = true;  // scale features to zero mean / unit variance inside the model
  int threads = 0;
};

struct LearnerConfig {
  std::string kind = "forest";  // "forest" | "logistic"
  ForestConfig forest;
  LogisticConfig logistic;
};

std::unique_ptr<Classifier> make_classifier(const LearnerConfig& cfg);

// The header every learner's save() payload starts with: format version, class count, feature count. The
// reader checks each field and names the learner ("forest", "logistic") and what it expected in its errors.
struct PayloadHeader {
  int n_classes = 0;
  std::size_t d = 0;
};
void write_payload_header(Writer& w, std::uint32_t version, int n_classes, std::size_t d);
PayloadHeader read_payload_header(Reader& r, const std::string& kind, std::uint32_t version);
// Reads a classifier written as kind string + save() payload (see save_classifier).
std::unique_ptr<Classifier> load_classifier(Reader& r);
void save_classifier(const Classifier& c, Writer& w);

}  // namespace strata::hier
