// compare and simulate: the experiments that show when a hierarchical classifier beats a flat one.
#include "strata/hier/experiment.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/serialize.h"
#include "strata/dist/process_group.h"
#include "strata/hier/baselines.h"
#include "strata/hier/hierarchical.h"
#include "strata/io/svg_plot.h"

namespace strata::hier {

LearnerConfig matched_flat(const LearnerConfig& per_node, const LabelTree& t, const NodeForests& nodes) {
  LearnerConfig c = matched_flat_learner(per_node, t);
  if (c.kind != "forest") return c;
  int models = 0;
  for (const auto& nd : t.nodes) models += nd.children.size() >= 2;
  if (nodes.coarse_trees > 0 && models >= 1)
    c.forest.n_trees = nodes.coarse_trees + per_node.forest.n_trees * (models - 1);
  if (nodes.flat_match == FlatMatch::kNode) c.forest.max_depth = per_node.forest.max_depth;
  return c;
}

LearnerFactory node_forest_factory(const NodeForests& nodes, std::uint64_t seed) {
  if (nodes.coarse_trees <= 0) return nullptr;
  const std::uint64_t root_seed = HierarchicalClassifier::node_seed(seed, 0);
  const int coarse = nodes.coarse_trees;
  // The classifier hands each node its learner with the node's seed in it: that is how the root is recognised.
  return [root_seed, coarse](const LearnerConfig& lc) {
    LearnerConfig c = lc;
    if (c.kind == "forest" && c.forest.seed == root_seed) c.forest.n_trees = coarse;
    return make_classifier(c);
  };
}

Preset preset(const std::string& name) {
  Preset p;
  p.name = name;
  if (name == "strata") return p;
  if (name != "authors") bad_input("--preset: expected one of strata, authors; got \"", name, "\"");
  p.learner.kind = "forest";
  p.learner.forest.n_trees = 10;
  p.learner.forest.max_depth = 10;
  p.nodes.coarse_trees = 25;
  p.nodes.flat_match = FlatMatch::kNode;
  p.induce.method = "means";  // class means -> classical MDS -> GMM with k and covariance type by BIC
  p.induce.embed = "cmds";
  p.induce.cluster = "gmm";
  return p;
}

RoutingScore routing_score(const float* proba, std::size_t n, int K, const std::vector<int>& group_of_class,
                           const std::vector<int>& truth) {
  if (static_cast<int>(group_of_class.size()) != K || truth.size() != n || n == 0)
    bad_input("routing_score: expected ", K, " class groups and ", n, " labels, found ", group_of_class.size(),
              " and ", truth.size());
  const int G = *std::max_element(group_of_class.begin(), group_of_class.end()) + 1;
  std::size_t right_group = 0, right_class = 0;
  std::vector<double> mass(G);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = proba + i * K;
    std::fill(mass.begin(), mass.end(), 0.0);
    for (int c = 0; c < K; ++c) mass[group_of_class[c]] += row[c];
    const int g = static_cast<int>(std::max_element(mass.begin(), mass.end()) - mass.begin());
    if (g != group_of_class.at(truth[i])) continue;
    ++right_group;
    int best = -1;
    for (int c = 0; c < K; ++c)
      if (group_of_class[c] == g && (best < 0 || row[c] > row[best])) best = c;
    right_class += best == truth[i];
  }
  RoutingScore r;
  r.coarse_accuracy = static_cast<double>(right_group) / static_cast<double>(n);
  r.fine_given_group = right_group ? static_cast<double>(right_class) / right_group : std::nan("");
  r.hard_accuracy = static_cast<double>(right_class) / static_cast<double>(n);
  return r;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Score {
  double accuracy = 0, seconds = 0;
  RoutingScore routing;  // hierarchical trees only
};

// Fits a hierarchical classifier on `train` with `tree` (the root model sized by `nodes`) and scores it on `test`.
Score fit_and_score(const data::Dataset& train, const data::Dataset& test, const LabelTree& tree,
                    const LearnerConfig& learner, const NodeForests& nodes, std::uint64_t seed, int threads,
                    ProgressSink& progress) {
  HierarchicalConfig hc;
  hc.learner = learner;
  hc.seed = seed;
  hc.threads = threads;
  HierarchicalClassifier clf(hc, node_forest_factory(nodes, seed));
  auto t0 = std::chrono::steady_clock::now();
  clf.fit(train, tree, &progress);
  Score sc;
  sc.seconds = seconds_since(t0);
  const int K = train.num_classes();
  std::vector<float> proba(test.n * static_cast<std::size_t>(K));  // (n, K)
  clf.predict_proba(test.x.data(), test.n, test.d, proba.data());
  std::vector<int> truth(test.y.begin(), test.y.end()), pred(test.n);
  for (std::size_t i = 0; i < test.n; ++i) {
    const float* row = proba.data() + i * K;
    pred[i] = static_cast<int>(std::max_element(row, row + K) - row);  // ties to the lower id, as predict()
  }
  sc.accuracy = accuracy(truth, pred);
  if (decision_levels(tree) >= 2) sc.routing = routing_score(proba.data(), test.n, K, tree.top_level_groups(), truth);
  return sc;
}

// Refuses data and a true tree that do not fit together; returns the true tree (if any) re-expressed in the
// training data's class order.
std::optional<LabelTree> check_compare_input(const data::Dataset& train_all, const data::Dataset& test,
                                             const CompareConfig& cfg) {
  if (cfg.seeds < 1) bad_input("--seeds: expected >= 1, found ", cfg.seeds);
  if (test.d != train_all.d)
    bad_input(test.source, ": test data has ", test.d, " features, training data ", train_all.d);
  if (test.classes != train_all.classes)
    bad_input(test.source, ": test classes differ from the training classes of ", train_all.source);
  if (!cfg.true_tree) return std::nullopt;
  if (cfg.true_tree->class_names != train_all.classes) {
    // Accept a tree whose class list is a permutation of the data's classes; refuse otherwise.
    std::vector<std::string> a = cfg.true_tree->class_names, b = train_all.classes;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) bad_input("--true-tree: its classes do not match the classes of ", train_all.source);
  }
  LabelTree t = *cfg.true_tree;
  std::map<std::string, int> id;
  for (int c = 0; c < train_all.num_classes(); ++c) id[train_all.classes[c]] = c;
  for (auto& nd : t.nodes)
    if (nd.class_id >= 0) nd.class_id = id.at(t.class_names[nd.class_id]);
  t.class_names = train_all.classes;
  t.validate("--true-tree");
  return t;
}

// One seed of `compare`: subsample, induce, then fit and score every row's tree; appends to res and returns the
// induction's detail for the progress line.
std::string compare_seed(const data::Dataset& train_all, const data::Dataset& test, const CompareConfig& cfg, int s,
                         const std::optional<LabelTree>& true_tree, ProgressSink& progress, CompareResult& res) {
  const std::uint64_t seed = derive_seed(cfg.seed, s);
  data::Dataset train = cfg.per_class ? data::subsample_per_class(train_all, cfg.per_class, seed) : train_all;
  InduceConfig ic = cfg.induce;
  ic.seed = seed;
  ic.threads = cfg.threads;
  auto t0 = std::chrono::steady_clock::now();
  InduceResult ind = induce(train, ic);
  double induce_secs = seconds_since(t0);
  res.induced_trees.push_back(ind.tree);
  LabelTree random = random_tree_like(ind.tree, derive_seed(seed, 7));
  const std::vector<int> true_groups = true_tree ? true_tree->top_level_groups() : std::vector<int>();

  auto record = [&](CompareRow& row, const LabelTree& tree, const LearnerConfig& learner, const NodeForests& nodes,
                    double extra_secs) {
    const Score sc = fit_and_score(train, test, tree, learner, nodes, seed, cfg.threads, progress);
    row.accuracy.push_back(sc.accuracy);
    row.fit_seconds.push_back(sc.seconds + extra_secs);
    row.groups.push_back(static_cast<double>(tree.nodes[0].children.size()));
    if (true_tree && row.name != "flat") row.ari.push_back(adjusted_rand_index(tree.top_level_groups(), true_groups));
    if (row.name != "flat") {
      row.coarse.push_back(sc.routing.coarse_accuracy);
      row.fine.push_back(sc.routing.fine_given_group);
    }
  };
  const LearnerConfig flat_learner = matched_flat(cfg.learner, ind.tree, cfg.nodes);
  record(res.rows[0], LabelTree::flat(train.classes), flat_learner, NodeForests{}, 0);
  res.rows[0].groups.back() = 1;
  record(res.rows[1], ind.tree, cfg.learner, cfg.nodes, induce_secs);
  record(res.rows[2], random, cfg.learner, cfg.nodes, 0);
  if (true_tree) record(res.rows[3], *true_tree, cfg.learner, cfg.nodes, 0);
  return ind.detail;
}

// Seed s's accuracies as a progress event; the summary is the line `compare` has always printed.
ResultProgress compare_progress(const CompareResult& res, int s, int seeds, const std::string& detail, double secs) {
  ResultProgress p;
  p.experiment = "compare";
  p.index = s + 1;
  p.count = seeds;
  p.label = cat("seed ", s + 1);
  std::ostringstream os;
  os << std::fixed << std::setprecision(4) << "seed " << s + 1 << "/" << seeds << ": ";
  for (const auto& r : res.rows) {
    p.values.emplace_back(r.name, r.accuracy.back());
    os << r.name << " " << r.accuracy.back() << "  ";
  }
  p.values.emplace_back("seconds", secs);
  os << "(" << detail << "; " << std::setprecision(1) << secs << " s)";
  p.summary = os.str();
  return p;
}

// The rows every compare result starts with, before any seed.
CompareResult empty_compare_result(bool with_true_tree) {
  CompareResult res;
  for (const char* name : {"flat", "induced", "random", "true"}) {
    if (std::string(name) == "true" && !with_true_tree) break;
    CompareRow row;
    row.name = name;
    row.learning_efficiency = row.name == "flat" ? 1.0 : 0.0;
    res.rows.push_back(row);
  }
  return res;
}

// A label tree exactly as it is (node ids, parents, names): a seed's induced tree crosses ranks this way because
// the JSON form renumbers nodes depth-first, and the results must equal one process's in memory too.
void write_tree(Writer& w, const LabelTree& t) {
  w.strs(t.class_names);
  w.pod<std::uint64_t>(t.nodes.size());
  for (const auto& nd : t.nodes) {
    w.pod<std::int32_t>(nd.parent);
    w.vec(std::vector<std::int32_t>(nd.children.begin(), nd.children.end()));
    w.pod<std::int32_t>(nd.class_id);
    w.str(nd.name);
  }
}

LabelTree read_tree(Reader& r) {
  LabelTree t;
  t.class_names = r.strs("class names");
  const auto n = r.pod<std::uint64_t>("node count");
  r.expect(n >= 1 && n < (1ull << 31), cat("node count out of range: ", n));
  t.nodes.resize(n);
  for (auto& nd : t.nodes) {
    nd.parent = r.pod<std::int32_t>("parent");
    const auto ch = r.vec<std::int32_t>("children");
    nd.children.assign(ch.begin(), ch.end());
    nd.class_id = r.pod<std::int32_t>("class id");
    nd.name = r.str("node name");
  }
  t.validate(r.where());
  return t;
}

// One seed's outcome as it crosses ranks: what compare_seed appended to `part` (fresh rows, one seed), the
// induction's detail and the seed's seconds.
std::string pack_seed(const CompareResult& part, const std::string& detail, double seconds) {
  Writer w;
  w.str(detail);
  w.pod(seconds);
  for (const auto& row : part.rows) {
    w.vec(row.accuracy);
    w.vec(row.fit_seconds);
    w.vec(row.groups);
    w.vec(row.ari);
    w.vec(row.coarse);
    w.vec(row.fine);
  }
  write_tree(w, part.induced_trees.at(0));
  return w.bytes();
}

// Appends a packed seed to res, as compare_seed would have; returns (detail, seconds).
std::pair<std::string, double> unpack_seed(const std::string& blob, int s, CompareResult& res) {
  Reader r(blob, cat("compare: the results of seed ", s + 1));
  std::string detail = r.str("detail");
  const double seconds = r.pod<double>("seconds");
  auto append = [&r](std::vector<double>& to, const char* what) {
    const auto v = r.vec<double>(what);
    r.expect(v.size() <= 1, cat(what, ": expected at most one value per seed, found ", v.size()));
    to.insert(to.end(), v.begin(), v.end());
  };
  for (auto& row : res.rows) {
    append(row.accuracy, "accuracy");
    append(row.fit_seconds, "fit seconds");
    append(row.groups, "groups");
    append(row.ari, "ari");
    append(row.coarse, "coarse accuracy");
    append(row.fine, "fine accuracy given the group");
  }
  res.induced_trees.push_back(read_tree(r));
  r.expect(r.done(), "unexpected trailing bytes");
  return {std::move(detail), seconds};
}

// The seeds over a group of several ranks: round by round, rank q runs seed base + q, then every rank appends the
// round's seeds in seed order and reports them. The inner fits get no sink: a rank deciding alone to stop inside
// a seed would leave the others waiting at the round's end, so cancellation is decided jointly between rounds.
void compare_over_ranks(const data::Dataset& train_all, const data::Dataset& test, const CompareConfig& cfg,
                        const std::optional<LabelTree>& true_tree, ProgressSink& progress, dist::ProcessGroup& group,
                        CompareResult& res) {
  const int ranks = group.size(), me = group.rank();
  for (int base = 0; base < cfg.seeds; base += ranks) {
    double stop = progress.cancel_requested() ? 1.0 : 0.0;
    group.all_reduce_sum(&stop, 1);
    if (stop > 0) throw Cancelled();
    std::string mine;
    if (base + me < cfg.seeds) {
      CompareResult part = empty_compare_result(true_tree.has_value());
      auto t_seed = std::chrono::steady_clock::now();
      const std::string detail = compare_seed(train_all, test, cfg, base + me, true_tree, ProgressSink::none(), part);
      mine = pack_seed(part, detail, seconds_since(t_seed));
    }
    const std::vector<std::string> all = group.all_gather(mine);
    for (int q = 0; q < ranks && base + q < cfg.seeds; ++q) {
      const auto [detail, seconds] = unpack_seed(all[q], base + q, res);
      progress.result(compare_progress(res, base + q, cfg.seeds, detail, seconds));
    }
  }
}

}  // namespace

CompareResult run_compare(const data::Dataset& train_all, const data::Dataset& test, const CompareConfig& cfg,
                          ProgressSink& progress, dist::ProcessGroup* group) {
  const std::optional<LabelTree> true_tree = check_compare_input(train_all, test, cfg);
  CompareResult res = empty_compare_result(true_tree.has_value());
  if (group && group->size() > 1) {
    compare_over_ranks(train_all, test, cfg, true_tree, progress, *group, res);
  } else {
    for (int s = 0; s < cfg.seeds; ++s) {
      progress.check_cancel();
      auto t_seed = std::chrono::steady_clock::now();
      const std::string detail = compare_seed(train_all, test, cfg, s, true_tree, progress, res);
      progress.result(compare_progress(res, s, cfg.seeds, detail, seconds_since(t_seed)));
    }
  }
  double err_flat = 1.0 - res.rows[0].acc().mean;
  for (auto& r : res.rows) r.learning_efficiency = learning_efficiency(err_flat, 1.0 - r.acc().mean);
  return res;
}

namespace {

// Mean of the finite values (NaN when there are none): a seed whose coarse node got every row wrong has no fine
// accuracy given the group.
double finite_mean(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  return n ? sum / n : std::nan("");
}

}  // namespace

std::string CompareResult::to_table() const {
  std::ostringstream os;
  os << std::left << std::setw(9) << "model" << std::right << std::setw(10) << "accuracy" << std::setw(9) << "± s.e."
     << std::setw(11) << "learn.eff" << std::setw(8) << "groups" << std::setw(8) << "ARI" << std::setw(8) << "coarse"
     << std::setw(10) << "fine|grp" << std::setw(10) << "fit s"
     << "\n";
  auto cell = [&os](const std::vector<double>& v, int width) {
    const double m = finite_mean(v);
    os << std::setw(width);
    if (std::isnan(m))
      os << "-";
    else
      os << std::setprecision(3) << m;
  };
  for (const auto& r : rows) {
    MeanSe a = r.acc();
    os << std::left << std::setw(9) << r.name << std::right << std::fixed << std::setprecision(4) << std::setw(10)
       << a.mean << std::setw(9) << a.se << std::setw(11) << std::setprecision(3) << r.learning_efficiency
       << std::setw(8) << std::setprecision(1) << mean_se(r.groups).mean;
    cell(r.ari, 8);
    cell(r.coarse, 8);
    cell(r.fine, 10);
    os << std::setw(10) << std::setprecision(2) << mean_se(r.fit_seconds).mean << "\n";
  }
  return os.str();
}

std::string CompareResult::to_json() const {
  nlohmann::json j;
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  for (const auto& r : rows) {
    MeanSe a = r.acc();
    nlohmann::json o{{"accuracy", a.mean},
                     {"se", a.se},
                     {"fit_seconds", mean_se(r.fit_seconds).mean},
                     {"per_seed_accuracy", r.accuracy}};
    if (r.name != "flat") {
      o["learning_efficiency"] =
          std::isfinite(r.learning_efficiency) ? nlohmann::json(r.learning_efficiency) : nlohmann::json("inf");
      o["groups"] = mean_se(r.groups).mean;
    }
    if (!r.ari.empty()) o["ari"] = mean_se(r.ari).mean;
    if (!r.coarse.empty()) {
      o["coarse_accuracy"] = number(finite_mean(r.coarse));
      o["fine_given_group"] = number(finite_mean(r.fine));
    }
    j[r.name] = o;
  }
  if (!induced_trees.empty()) j["induced_tree_seed0"] = nlohmann::json::parse(induced_trees[0].to_json());
  return j.dump(2) + "\n";
}

namespace {

void check_simulate_config(const SimulateConfig& cfg) {
  if (cfg.reps < 1) bad_input("--reps: expected >= 1, found ", cfg.reps);
  for (int c : cfg.classes_per_group)
    if (c < 1) bad_input("--classes-per-group: expected >= 1, found ", c);
  for (int s : cfg.samples_per_class)
    if (s < 2) bad_input("--samples-per-class: expected >= 2, found ", s);
  for (double v : cfg.sigma2_group)
    if (!(v >= 0)) bad_input("--sigma2-group: expected >= 0, found ", v);
  if (!(cfg.sigma2_class > 0)) bad_input("--sigma2-class: expected > 0, found ", cfg.sigma2_class);
  if (cfg.trees < 1) bad_input("--trees: expected >= 1, found ", cfg.trees);
  if (cfg.max_depth < 0) bad_input("--max-depth: expected >= 0, found ", cfg.max_depth);
  if (cfg.nodes.coarse_trees < 0) bad_input("--coarse-trees: expected >= 0, found ", cfg.nodes.coarse_trees);
}

// The data of one setting: the configured spec with this setting's groups, classes, samples and variances.
SimSpec setting_spec(const SimulateConfig& cfg, double s2g, int cpg, int spc) {
  SimSpec spec = cfg.data;
  spec.groups = cfg.groups;
  spec.classes_per_group = cpg;
  spec.sigma2_group = s2g;
  spec.sigma2_class = cfg.sigma2_class;
  spec.train_per_class = spc;
  spec.test_per_class = cfg.test_per_class;
  return spec;
}

// One setting of the simulation, as its replicates' numbers before averaging.
struct SettingReps {
  std::vector<double> ari, ari_perm, le_true, le_ind, le_rand, acc_flat, acc_true, acc_ind, acc_rand;
  std::vector<double> coarse_true, fine_true, coarse_ind, fine_ind;
};

// How simulate induces: GMM/BIC on the class means, directly when they have few dims (the authors' 2-D setting),
// after projecting the data to as many principal components as the means' informative / latent dims (at most 16)
// when they have more: CMDS with the elbow's dimension kept too few dims to separate many groups, and noise
// components beyond the latent ones made BIC merge groups.
InduceConfig simulate_induce(const SimulateConfig& cfg, int classes, std::uint64_t seed) {
  InduceConfig ic;
  ic.method = "means";
  ic.embed = "none";
  if (cfg.data.dims > 16) {
    const int latent = cfg.data.informative > 0 ? cfg.data.informative : 16;
    ic.pca_dims = std::min(16, latent);
  }
  ic.cluster = "gmm";
  ic.k_min = 2;
  ic.k_max = std::max(2, std::min(classes - 1, 2 * cfg.groups));
  ic.seed = seed;
  ic.threads = cfg.threads;
  return ic;
}

// Replicate `seed` of a setting: simulate, induce by GMM on the class means, fit flat / true / induced / random.
void simulate_rep(const SimulateConfig& cfg, const LearnerConfig& learner, const SimSpec& spec, std::uint64_t seed,
                  ProgressSink& progress, SettingReps& out) {
  data::Dataset train, test;
  std::vector<int> truth;
  simulate_data(spec, seed, train, test, truth);
  InduceResult ind = induce(train, simulate_induce(cfg, train.num_classes(), seed));
  out.ari.push_back(adjusted_rand_index(ind.groups, truth));
  std::vector<int> perm = truth;
  Rng prng(derive_seed(seed, 99));
  std::shuffle(perm.begin(), perm.end(), prng);
  out.ari_perm.push_back(adjusted_rand_index(perm, truth));
  LabelTree true_tree = LabelTree::from_groups(truth, train.classes);
  const LabelTree random = random_tree_like(ind.tree, derive_seed(seed, 7));
  auto fit = [&](const LabelTree& tree, const LearnerConfig& lc, const NodeForests& nodes) {
    return fit_and_score(train, test, tree, lc, nodes, seed, cfg.threads, progress);
  };
  const double af = fit(LabelTree::flat(train.classes), matched_flat(learner, true_tree, cfg.nodes), {}).accuracy;
  const Score st = fit(true_tree, learner, cfg.nodes), si = fit(ind.tree, learner, cfg.nodes),
              sr = fit(random, learner, cfg.nodes);
  out.acc_flat.push_back(af), out.acc_true.push_back(st.accuracy), out.acc_ind.push_back(si.accuracy);
  out.acc_rand.push_back(sr.accuracy);
  out.le_true.push_back(learning_efficiency(1 - af, 1 - st.accuracy));
  out.le_ind.push_back(learning_efficiency(1 - af, 1 - si.accuracy));
  out.le_rand.push_back(learning_efficiency(1 - af, 1 - sr.accuracy));
  out.coarse_true.push_back(st.routing.coarse_accuracy), out.fine_true.push_back(st.routing.fine_given_group);
  out.coarse_ind.push_back(si.routing.coarse_accuracy), out.fine_ind.push_back(si.routing.fine_given_group);
}

// Mean ± s.e. of the finite values (NaN ± 0 when none).
MeanSe finite_mean_se(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  return v.empty() ? MeanSe{std::nan(""), 0} : mean_se(v);
}

// Per replicate a − b.
std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

SimulateRow simulate_setting(const SimulateConfig& cfg, const LearnerConfig& learner, std::size_t setting, double s2g,
                             int cpg, int spc, ProgressSink& progress) {
  SettingReps reps;
  const SimSpec spec = setting_spec(cfg, s2g, cpg, spc);
  for (int r = 0; r < cfg.reps; ++r) {
    progress.check_cancel();
    simulate_rep(cfg, learner, spec, derive_seed(cfg.seed, setting, r), progress, reps);
  }
  SimulateRow row{};
  row.sigma2_group = s2g, row.classes_per_group = cpg, row.samples_per_class = spc, row.reps = cfg.reps;
  row.ari = mean_se(reps.ari), row.ari_permuted = mean_se(reps.ari_perm);
  row.le_true = finite_mean_se(reps.le_true), row.le_induced = finite_mean_se(reps.le_ind);
  row.acc_flat = mean_se(reps.acc_flat), row.acc_true = mean_se(reps.acc_true), row.acc_induced = mean_se(reps.acc_ind);
  row.le_random = finite_mean_se(reps.le_rand);
  row.acc_random = mean_se(reps.acc_rand);
  row.diff_true = mean_se(minus(reps.acc_true, reps.acc_flat));
  row.diff_induced = mean_se(minus(reps.acc_ind, reps.acc_flat));
  row.diff_random = mean_se(minus(reps.acc_rand, reps.acc_flat));
  row.coarse_true = finite_mean_se(reps.coarse_true), row.fine_true = finite_mean_se(reps.fine_true);
  row.coarse_induced = finite_mean_se(reps.coarse_ind), row.fine_induced = finite_mean_se(reps.fine_ind);
  return row;
}

// A setting's means as a progress event; the summary is the line `simulate` has always printed.
ResultProgress simulate_progress(const SimulateRow& row, int index, int count) {
  ResultProgress p;
  p.experiment = "simulate";
  p.index = index;
  p.count = count;
  p.label = cat("sigma2_group ", row.sigma2_group, ", ", row.classes_per_group, " classes/group, ",
                row.samples_per_class, " samples/class");
  p.values = {{"ari", row.ari.mean},
              {"ari_permuted", row.ari_permuted.mean},
              {"le_true", row.le_true.mean},
              {"le_induced", row.le_induced.mean},
              {"acc_flat", row.acc_flat.mean},
              {"acc_true", row.acc_true.mean},
              {"acc_induced", row.acc_induced.mean},
              {"le_random", row.le_random.mean},
              {"acc_random", row.acc_random.mean}};
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << "sigma2_group " << row.sigma2_group << ", " << row.classes_per_group
     << " classes/group, " << row.samples_per_class << " samples/class: ARI " << row.ari.mean << " (permuted "
     << row.ari_permuted.mean << "), learning efficiency true " << row.le_true.mean << ", induced "
     << row.le_induced.mean << ", random " << row.le_random.mean;
  p.summary = os.str();
  return p;
}

}  // namespace

std::vector<SimulateRow> run_simulation(const SimulateConfig& cfg, ProgressSink& progress) {
  check_simulate_config(cfg);
  for (int cpg : cfg.classes_per_group) validate(setting_spec(cfg, cfg.sigma2_group.at(0), cpg, 2));
  std::vector<SimulateRow> rows;
  LearnerConfig learner;
  learner.kind = "forest";
  learner.forest.n_trees = cfg.trees;
  learner.forest.max_depth = cfg.max_depth;
  const int count =
      static_cast<int>(cfg.sigma2_group.size() * cfg.classes_per_group.size() * cfg.samples_per_class.size());
  std::size_t setting = 0;
  for (double s2g : cfg.sigma2_group)
    for (int cpg : cfg.classes_per_group)
      for (int spc : cfg.samples_per_class) {
        progress.check_cancel();
        rows.push_back(simulate_setting(cfg, learner, setting, s2g, cpg, spc, progress));
        ++setting;
        progress.result(simulate_progress(rows.back(), static_cast<int>(setting), count));
      }
  return rows;
}

std::string simulation_csv(const std::vector<SimulateRow>& rows) {
  std::ostringstream os;
  os << "sigma2_group,classes_per_group,samples_per_class,reps,ari_mean,ari_se,ari_permuted_mean,ari_permuted_se,"
        "le_true_mean,le_true_se,le_induced_mean,le_induced_se,acc_flat_mean,acc_flat_se,acc_true_mean,acc_true_se,"
        "acc_induced_mean,acc_induced_se,le_random_mean,le_random_se,acc_random_mean,acc_random_se,diff_true_mean,"
        "diff_true_se,diff_induced_mean,diff_induced_se,diff_random_mean,diff_random_se,coarse_true_mean,"
        "coarse_true_se,fine_true_mean,fine_true_se,coarse_induced_mean,coarse_induced_se,fine_induced_mean,"
        "fine_induced_se\n";
  os << std::setprecision(6);
  for (const auto& r : rows) {
    os << r.sigma2_group << "," << r.classes_per_group << "," << r.samples_per_class << "," << r.reps << ","
       << r.ari.mean << "," << r.ari.se << "," << r.ari_permuted.mean << "," << r.ari_permuted.se << ","
       << r.le_true.mean << "," << r.le_true.se << "," << r.le_induced.mean << "," << r.le_induced.se << ","
       << r.acc_flat.mean << "," << r.acc_flat.se << "," << r.acc_true.mean << "," << r.acc_true.se << ","
       << r.acc_induced.mean << "," << r.acc_induced.se;
    for (const MeanSe* m : {&r.le_random, &r.acc_random, &r.diff_true, &r.diff_induced, &r.diff_random,
                            &r.coarse_true, &r.fine_true, &r.coarse_induced, &r.fine_induced})
      os << "," << m->mean << "," << m->se;
    os << "\n";
  }
  return os.str();
}

std::string simulation_svg(const std::vector<SimulateRow>& rows) {
  io::Panel ari{"Induced partition vs truth", "samples per class", "ARI", {}, true, 0, false};
  io::Panel le{"Learning efficiency (flat error / hierarchical error)",
               "samples per class",
               "err_flat / err_hier",
               {},
               true,
               1.0,
               true};
  std::map<std::pair<double, int>, std::vector<const SimulateRow*>> by;
  for (const auto& r : rows) by[{r.sigma2_group, r.classes_per_group}].push_back(&r);
  int color = 0;
  for (const auto& [key, rs] : by) {
    std::string tag = cat("σ²g=", key.first);
    if (by.size() > 1 && rows.front().classes_per_group != rows.back().classes_per_group)
      tag += cat(", ", key.second, "/group");
    io::Series a{tag, {}, {}, {}, color, false}, p{tag + " permuted", {}, {}, {}, color, true},
        lt{tag + " true tree", {}, {}, {}, color, true}, li{tag + " induced", {}, {}, {}, color, false};
    for (const SimulateRow* r : rs) {
      double x = r->samples_per_class;
      a.x.push_back(x), a.y.push_back(r->ari.mean), a.err.push_back(r->ari.se);
      p.x.push_back(x), p.y.push_back(r->ari_permuted.mean), p.err.push_back(r->ari_permuted.se);
      lt.x.push_back(x), lt.y.push_back(r->le_true.mean), lt.err.push_back(r->le_true.se);
      li.x.push_back(x), li.y.push_back(r->le_induced.mean), li.err.push_back(r->le_induced.se);
    }
    ari.series.push_back(a);
    ari.series.push_back(p);
    le.series.push_back(lt);
    le.series.push_back(li);
    ++color;
  }
  return io::line_plot_svg({ari, le}, "Hierarchical Gaussians: induced hierarchies");
}

}  // namespace strata::hier
