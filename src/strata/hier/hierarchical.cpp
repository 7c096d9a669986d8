// Local-classifier-per-parent-node hierarchical classifier: fitting node by node, batched soft (product rule)
// and hard (greedy descent) prediction, and its binary model file.
#include "strata/hier/hierarchical.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <utility>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/serialize.h"
#include "strata/dist/process_group.h"
#include "strata/hier/forest.h"

namespace strata::hier {

namespace {
constexpr char kMagic[] = "STRATA-HIER\n";
constexpr std::size_t kMagicLen = sizeof(kMagic) - 1;
constexpr std::uint32_t kVersion = 1;
}  // namespace

HierarchicalClassifier::HierarchicalClassifier(HierarchicalConfig cfg, LearnerFactory factory)
    : cfg_(std::move(cfg)), factory_(std::move(factory)) {}
HierarchicalClassifier::HierarchicalClassifier(HierarchicalClassifier&&) noexcept = default;
HierarchicalClassifier& HierarchicalClassifier::operator=(HierarchicalClassifier&&) noexcept = default;
HierarchicalClassifier::~HierarchicalClassifier() = default;

std::uint64_t HierarchicalClassifier::node_seed(std::uint64_t seed, int node) { return derive_seed(seed, node); }

HierarchicalClassifier& HierarchicalClassifier::set_process_group(dist::ProcessGroup* group) {
  group_ = group;
  return *this;
}

HierarchicalClassifier& HierarchicalClassifier::set_routing(HierarchicalConfig::Routing routing) {
  cfg_.routing = routing;
  return *this;
}

int HierarchicalClassifier::num_node_models() const {
  int m = 0;
  for (const auto& nm : nodes_) m += nm.model != nullptr;
  return m;
}

std::vector<std::size_t> HierarchicalClassifier::check_fit_input(const Rows& ds, const LabelTree& tree) {
  const std::string& src = ds.source;
  tree.validate("hierarchical fit: label tree");
  if (ds.n == 0 || ds.d == 0) bad_input("hierarchical fit: ", src, " is empty");
  const int k = tree.num_classes();
  std::vector<std::size_t> count(k, 0);
  for (std::size_t i = 0; i < ds.n; ++i) {
    if (ds.y[i] < 0 || ds.y[i] >= k) bad_input("hierarchical fit: ", src, ": row ", i, " has label ", ds.y[i]);
    count[ds.y[i]]++;
  }
  return count;
}

HierarchicalClassifier& HierarchicalClassifier::fit(const data::Dataset& ds, const LabelTree& tree,
                                                    ProgressSink* progress) {
  const std::string src = ds.source.empty() ? std::string("training data") : ds.source;
  if (tree.class_names != ds.classes)
    bad_input("hierarchical fit: the label tree's ", tree.num_classes(), " classes differ from the ", ds.num_classes(),
              " classes of ", src, " (same names in the same sorted order expected)");
  if (ds.x.size() != ds.n * ds.d || ds.y.size() != ds.n)
    bad_input("hierarchical fit: ", src, ": ", ds.x.size(), " feature values and ", ds.y.size(),
              " labels for n = ", ds.n, ", d = ", ds.d);
  return fit(ds.x.data(), ds.n, ds.d, ds.y.data(), tree, progress, src);
}

HierarchicalClassifier& HierarchicalClassifier::fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y,
                                                    const LabelTree& tree, ProgressSink* progress,
                                                    const std::string& source) {
  const auto t0 = std::chrono::steady_clock::now();
  const Rows ds{x, n, d, y, source};
  const std::vector<std::size_t> count = check_fit_input(ds, tree);
  // Renumbered as the JSON reader numbers nodes (depth-first), so node ids, node seeds and the per-node models
  // of a saved model line up with the tree embedded in the file.
  tree_ = LabelTree::from_json(tree.to_json(), "hierarchical fit: label tree");
  d_ = ds.d;
  nodes_.clear();
  nodes_.resize(tree_.nodes.size());
  fitted_ = false;
  std::vector<float> xb;         // (rows, d) rows of the node's classes
  std::vector<std::int32_t> yb;  // (rows) local labels
  try {
    const bool shared = group_ && group_->size() > 1;
    for (int v = 0; v < static_cast<int>(tree_.nodes.size()); ++v) {
      if (shared) {
        // Every rank takes part whatever its sink, so the ranks stop together or not at all.
        double stop = progress && progress->cancel_requested() ? 1.0 : 0.0;
        group_->all_reduce_sum(&stop, 1);
        if (stop > 0) throw Cancelled();
      } else if (progress) {
        progress->check_cancel();
      }
      fit_node(v, ds, count, progress, xb, yb);
    }
  } catch (const Cancelled&) {
    nodes_.clear();  // no half-fitted node models behind an unfitted estimator
    throw;
  }
  fitted_ = true;
  fit_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return *this;
}

void HierarchicalClassifier::fit_node(int v, const Rows& ds, const std::vector<std::size_t>& count,
                                      ProgressSink* progress, std::vector<float>& xb, std::vector<std::int32_t>& yb) {
  const auto& children = tree_.nodes[v].children;
  if (children.empty()) return;
  // child_pos[c]: which child subtree holds class c (-1 outside this node).
  std::vector<int> child_pos(count.size(), -1);
  std::vector<std::size_t> child_rows(children.size(), 0);
  for (std::size_t ch = 0; ch < children.size(); ++ch)
    for (int c : tree_.classes_under(children[ch])) {
      child_pos[c] = static_cast<int>(ch);
      child_rows[ch] += count[c];
    }
  NodeModel& nm = nodes_[v];
  std::vector<int> local_of_child(children.size(), -1);
  for (std::size_t ch = 0; ch < children.size(); ++ch)
    if (child_rows[ch] > 0) {
      local_of_child[ch] = static_cast<int>(nm.local_child.size());
      nm.local_child.push_back(static_cast<int>(ch));
    }
  if (nm.local_child.size() < 2) return;  // nothing to learn: probability 1 (or uniform, unreachable)

  std::size_t rows = 0;
  for (std::size_t ch = 0; ch < children.size(); ++ch) rows += child_rows[ch];
  const bool all_rows = rows == ds.n;  // the root of a tree: use the data in place
  yb.resize(rows);
  if (!all_rows) xb.resize(rows * ds.d);
  std::size_t r = 0;
  for (std::size_t i = 0; i < ds.n; ++i) {
    const int ch = child_pos[ds.y[i]];
    if (ch < 0) continue;
    if (!all_rows) std::memcpy(xb.data() + r * ds.d, ds.row(i), ds.d * sizeof(float));
    yb[r++] = local_of_child[ch];
  }
  LearnerConfig lc = cfg_.learner;
  lc.forest.seed = node_seed(cfg_.seed, v);
  if (lc.forest.threads == 0) lc.forest.threads = cfg_.threads;
  if (lc.logistic.threads == 0) lc.logistic.threads = cfg_.threads;
  nm.model = factory_ ? factory_(lc) : make_classifier(lc);
  if (!nm.model) internal_error("hierarchical fit: the learner factory returned no model");
  if (group_ && group_->size() > 1) {
    // A forest decides cancellation with the other ranks; any other learner would decide alone, so it gets no sink.
    if (auto* forest = dynamic_cast<RandomForest*>(nm.model.get()))
      forest->set_process_group(group_);
    else
      progress = nullptr;
  }
  nm.model->fit(all_rows ? ds.x : xb.data(), rows, ds.d, yb.data(), static_cast<int>(nm.local_child.size()), progress);
}

void HierarchicalClassifier::child_proba(int v, const float* x, std::size_t n, ThreadPool& pool,
                                         std::vector<float>& out) const {
  const NodeModel& nm = nodes_[v];
  const std::size_t m = tree_.nodes[v].children.size();
  out.assign(n * m, 0.f);
  if (nm.model) {
    const std::size_t l = nm.local_child.size();
    std::vector<float> local(n * l);  // (n, l)
    nm.model->predict_proba(x, n, d_, local.data(), pool);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < l; ++j) out[i * m + nm.local_child[j]] = local[i * l + j];
  } else if (nm.local_child.size() == 1) {
    for (std::size_t i = 0; i < n; ++i) out[i * m + nm.local_child[0]] = 1.f;
  } else {
    // No training rows below this node at all: its parent gives it probability 0, so any distribution
    // summing to 1 keeps the rows normalised.
    std::fill(out.begin(), out.end(), 1.f / static_cast<float>(m));
  }
}

void HierarchicalClassifier::predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const {
  if (!fitted_) bad_input("hierarchical predict: the classifier is not fitted");
  if (d != d_) bad_input("hierarchical predict: data have ", d, " features, the model was fitted on ", d_);
  const std::size_t k = static_cast<std::size_t>(tree_.num_classes());
  std::fill(proba, proba + n * k, 0.f);
  if (n == 0) return;
  pool_.run(cfg_.threads, [&](ThreadPool& pool) {
    if (cfg_.routing == HierarchicalConfig::Routing::kSoft)
      predict_soft(x, n, pool, proba);
    else
      predict_hard(x, n, pool, proba);
  });
}

// The product rule, breadth-first; reach[v] (n) = P(path to v | x), dropped once v's children have theirs.
void HierarchicalClassifier::predict_soft(const float* x, std::size_t n, ThreadPool& pool, float* proba) const {
  const std::size_t k = static_cast<std::size_t>(tree_.num_classes());
  std::vector<float> cp;
  std::vector<std::vector<float>> reach(tree_.nodes.size());
  reach[tree_.root()].assign(n, 1.f);
  std::deque<int> queue{tree_.root()};
  while (!queue.empty()) {
    const int v = queue.front();
    queue.pop_front();
    const auto& children = tree_.nodes[v].children;
    if (children.empty()) {
      const std::size_t c = static_cast<std::size_t>(tree_.nodes[v].class_id);
      for (std::size_t i = 0; i < n; ++i) proba[i * k + c] = reach[v][i];
      std::vector<float>().swap(reach[v]);
      continue;
    }
    child_proba(v, x, n, pool, cp);
    const std::size_t m = children.size();
    for (std::size_t ch = 0; ch < m; ++ch) {
      auto& r = reach[children[ch]];
      r.resize(n);
      for (std::size_t i = 0; i < n; ++i) r[i] = reach[v][i] * cp[i * m + ch];
      queue.push_back(children[ch]);
    }
    std::vector<float>().swap(reach[v]);
  }
}

// Hard routing: rows descend to the argmax child; each node predicts only the rows that reached it.
void HierarchicalClassifier::predict_hard(const float* x, std::size_t n, ThreadPool& pool, float* proba) const {
  const std::size_t k = static_cast<std::size_t>(tree_.num_classes()), d = d_;
  std::vector<float> cp;
  std::vector<std::vector<std::size_t>> at(tree_.nodes.size());
  at[tree_.root()].resize(n);
  for (std::size_t i = 0; i < n; ++i) at[tree_.root()][i] = i;
  std::deque<int> queue{tree_.root()};
  std::vector<float> xb;
  while (!queue.empty()) {
    const int v = queue.front();
    queue.pop_front();
    std::vector<std::size_t> rows = std::move(at[v]);
    if (rows.empty()) continue;
    const auto& children = tree_.nodes[v].children;
    if (children.empty()) {
      for (std::size_t i : rows) proba[i * k + static_cast<std::size_t>(tree_.nodes[v].class_id)] = 1.f;
      continue;
    }
    const float* xv = x;
    if (rows.size() != n) {
      xb.resize(rows.size() * d);
      for (std::size_t r = 0; r < rows.size(); ++r) std::memcpy(xb.data() + r * d, x + rows[r] * d, d * sizeof(float));
      xv = xb.data();
    }
    child_proba(v, xv, rows.size(), pool, cp);
    const std::size_t m = children.size();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const float* p = cp.data() + r * m;
      const std::size_t best = static_cast<std::size_t>(std::max_element(p, p + m) - p);
      at[children[best]].push_back(rows[r]);
    }
    for (int ch : children) queue.push_back(ch);
  }
}

std::vector<int> HierarchicalClassifier::predict(const float* x, std::size_t n, std::size_t d) const {
  const std::size_t k = static_cast<std::size_t>(tree_.num_classes());
  std::vector<float> p(n * k);  // (n, K)
  predict_proba(x, n, d, p.data());
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<int>(std::max_element(p.data() + i * k, p.data() + (i + 1) * k) - (p.data() + i * k));
  return out;
}

void HierarchicalClassifier::save(const std::string& path) const {
  if (!fitted_) bad_input(path, ": cannot save a hierarchical classifier that is not fitted");
  Writer w;
  w.bytes().append(kMagic, kMagicLen);
  w.pod<std::uint32_t>(kVersion);
  w.pod<std::uint8_t>(cfg_.routing == HierarchicalConfig::Routing::kHard ? 1 : 0);
  w.pod<std::uint64_t>(cfg_.seed);
  w.pod<std::int32_t>(cfg_.threads);
  const LearnerConfig& lc = cfg_.learner;
  w.str(lc.kind);
  w.pod<std::int32_t>(lc.forest.n_trees);
  w.pod<std::int32_t>(lc.forest.max_depth);
  w.pod<std::int32_t>(lc.forest.min_samples_leaf);
  w.pod<std::int32_t>(lc.forest.max_features);
  w.pod<std::uint8_t>(lc.forest.bootstrap);
  w.pod<std::uint8_t>(lc.forest.honest);
  w.pod<double>(lc.forest.honest_fraction);
  w.pod<std::uint64_t>(lc.forest.seed);
  w.pod<std::int32_t>(lc.forest.threads);
  w.pod<double>(lc.logistic.l2);
  w.pod<std::int32_t>(lc.logistic.max_iter);
  w.pod<double>(lc.logistic.tol);
  w.pod<std::uint8_t>(lc.logistic.standardize);
  w.pod<std::int32_t>(lc.logistic.threads);
  w.str(tree_.to_json());
  w.strs(tree_.class_names);
  w.pod<std::uint64_t>(d_);
  w.pod<double>(fit_seconds_);
  w.pod<std::uint64_t>(nodes_.size());
  for (const NodeModel& nm : nodes_) {
    w.pod<std::uint8_t>(nm.model ? 1 : 0);
    std::vector<std::int32_t> lc32(nm.local_child.begin(), nm.local_child.end());
    w.vec(lc32);
    if (nm.model) save_classifier(*nm.model, w);
  }
  write_file_atomic(path, w.bytes());
}

HierarchicalClassifier HierarchicalClassifier::load(const std::string& path) {
  const std::string data = read_file(path);
  if (data.size() < kMagicLen || data.compare(0, kMagicLen, kMagic) != 0)
    bad_input(path, ": not a strata hierarchical model (expected the magic \"STRATA-HIER\" at byte 0)");
  Reader r(data, path);
  r.pod<std::array<char, kMagicLen>>("magic");
  const auto version = r.pod<std::uint32_t>("version");
  r.expect(version == kVersion, cat("unsupported model version ", version, " (this build reads ", kVersion, ")"));
  HierarchicalConfig cfg;
  const auto routing = r.pod<std::uint8_t>("routing");
  r.expect(routing <= 1, cat("routing must be 0 (soft) or 1 (hard), found ", int(routing)));
  cfg.routing = routing ? HierarchicalConfig::Routing::kHard : HierarchicalConfig::Routing::kSoft;
  cfg.seed = r.pod<std::uint64_t>("seed");
  cfg.threads = r.pod<std::int32_t>("threads");
  LearnerConfig& lc = cfg.learner;
  lc.kind = r.str("learner kind");
  lc.forest.n_trees = r.pod<std::int32_t>("forest n_trees");
  lc.forest.max_depth = r.pod<std::int32_t>("forest max_depth");
  lc.forest.min_samples_leaf = r.pod<std::int32_t>("forest min_samples_leaf");
  lc.forest.max_features = r.pod<std::int32_t>("forest max_features");
  lc.forest.bootstrap = r.pod<std::uint8_t>("forest bootstrap") != 0;
  lc.forest.honest = r.pod<std::uint8_t>("forest honest") != 0;
  lc.forest.honest_fraction = r.pod<double>("forest honest_fraction");
  lc.forest.seed = r.pod<std::uint64_t>("forest seed");
  lc.forest.threads = r.pod<std::int32_t>("forest threads");
  lc.logistic.l2 = r.pod<double>("logistic l2");
  lc.logistic.max_iter = r.pod<std::int32_t>("logistic max_iter");
  lc.logistic.tol = r.pod<double>("logistic tol");
  lc.logistic.standardize = r.pod<std::uint8_t>("logistic standardize") != 0;
  lc.logistic.threads = r.pod<std::int32_t>("logistic threads");

  HierarchicalClassifier h(cfg);
  h.tree_ = LabelTree::from_json(r.str("tree json"), path + ": embedded label tree");
  const auto classes = r.strs("classes");
  r.expect(classes == h.tree_.class_names, "the class list disagrees with the embedded tree's classes");
  h.d_ = r.pod<std::uint64_t>("feature dimension");
  r.expect(h.d_ > 0, "feature dimension must be positive");
  h.fit_seconds_ = r.pod<double>("fit seconds");
  const auto n_nodes = r.pod<std::uint64_t>("node count");
  r.expect(n_nodes == h.tree_.nodes.size(),
           cat("node count ", n_nodes, " differs from the embedded tree's ", h.tree_.nodes.size(), " nodes"));
  h.nodes_.resize(n_nodes);
  for (std::size_t v = 0; v < n_nodes; ++v) {
    NodeModel& nm = h.nodes_[v];
    const auto has_model = r.pod<std::uint8_t>("node model flag");
    r.expect(has_model <= 1, cat("node ", v, ": model flag must be 0 or 1, found ", int(has_model)));
    const auto local = r.vec<std::int32_t>("node child map");
    const std::size_t m = h.tree_.nodes[v].children.size();
    for (auto c : local)
      r.expect(c >= 0 && static_cast<std::size_t>(c) < m, cat("node ", v, ": child position ", c, " out of range"));
    r.expect(has_model ? local.size() >= 2 : local.size() <= 1,
             cat("node ", v, ": ", local.size(), " mapped children for a node ", has_model ? "with" : "without",
                 " a model"));
    nm.local_child.assign(local.begin(), local.end());
    if (has_model) {
      nm.model = load_classifier(r);
      r.expect(nm.model->num_classes() == static_cast<int>(local.size()),
               cat("node ", v, ": the model has ", nm.model->num_classes(), " classes, expected ", local.size()));
    }
  }
  r.expect(r.done(), cat(data.size() - r.offset(), " unexpected trailing bytes"));
  h.fitted_ = true;
  return h;
}

}  // namespace strata::hier
