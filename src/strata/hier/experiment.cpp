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

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fits a hierarchical classifier on `train` with `tree` and returns (test accuracy, fit seconds).
std::pair<double, double> fit_and_score(const data::Dataset& train, const data::Dataset& test, const LabelTree& tree,
                                        const LearnerConfig& learner, std::uint64_t seed, int threads,
                                        ProgressSink& progress) {
  HierarchicalConfig hc;
  hc.learner = learner;
  hc.seed = seed;
  hc.threads = threads;
  HierarchicalClassifier clf(hc);
  auto t0 = std::chrono::steady_clock::now();
  clf.fit(train, tree, &progress);
  double secs = seconds_since(t0);
  std::vector<int> pred = clf.predict(test.x.data(), test.n, test.d);
  std::vector<int> truth(test.y.begin(), test.y.end());
  return {accuracy(truth, pred), secs};
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

  auto record = [&](CompareRow& row, const LabelTree& tree, const LearnerConfig& learner, double extra_secs) {
    auto [acc, secs] = fit_and_score(train, test, tree, learner, seed, cfg.threads, progress);
    row.accuracy.push_back(acc);
    row.fit_seconds.push_back(secs + extra_secs);
    row.groups.push_back(static_cast<double>(tree.nodes[0].children.size()));
    if (true_tree && row.name != "flat") row.ari.push_back(adjusted_rand_index(tree.top_level_groups(), true_groups));
  };
  LearnerConfig flat_learner = matched_flat_learner(cfg.learner, ind.tree);
  record(res.rows[0], LabelTree::flat(train.classes), flat_learner, 0);
  res.rows[0].groups.back() = 1;
  record(res.rows[1], ind.tree, cfg.learner, induce_secs);
  record(res.rows[2], random, cfg.learner, 0);
  if (true_tree) record(res.rows[3], *true_tree, cfg.learner, 0);
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
  res.rows.push_back({"flat", {}, {}, {}, {}, 1.0});
  res.rows.push_back({"induced", {}, {}, {}, {}, 0});
  res.rows.push_back({"random", {}, {}, {}, {}, 0});
  if (with_true_tree) res.rows.push_back({"true", {}, {}, {}, {}, 0});
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

std::string CompareResult::to_table() const {
  std::ostringstream os;
  os << std::left << std::setw(9) << "model" << std::right << std::setw(10) << "accuracy" << std::setw(9) << "± s.e."
     << std::setw(11) << "learn.eff" << std::setw(8) << "groups" << std::setw(8) << "ARI" << std::setw(10) << "fit s"
     << "\n";
  for (const auto& r : rows) {
    MeanSe a = r.acc();
    os << std::left << std::setw(9) << r.name << std::right << std::fixed << std::setprecision(4) << std::setw(10)
       << a.mean << std::setw(9) << a.se << std::setw(11) << std::setprecision(3) << r.learning_efficiency
       << std::setw(8) << std::setprecision(1) << mean_se(r.groups).mean << std::setw(8);
    if (r.ari.empty())
      os << "-";
    else
      os << std::setprecision(3) << mean_se(r.ari).mean;
    os << std::setw(10) << std::setprecision(2) << mean_se(r.fit_seconds).mean << "\n";
  }
  return os.str();
}

std::string CompareResult::to_json() const {
  nlohmann::json j;
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
    j[r.name] = o;
  }
  if (!induced_trees.empty()) j["induced_tree_seed0"] = nlohmann::json::parse(induced_trees[0].to_json());
  return j.dump(2) + "\n";
}

void simulate_data(int groups, int classes_per_group, int n_train, int n_test, double sigma2_group, double sigma2_class,
                   std::uint64_t seed, data::Dataset& train, data::Dataset& test, std::vector<int>& group_of_class) {
  Rng rng(seed);
  const int K = groups * classes_per_group;
  const double sg = std::sqrt(sigma2_group), sc = std::sqrt(sigma2_class);
  std::vector<std::array<double, 2>> mean(K);
  group_of_class.assign(K, 0);
  for (int g = 0; g < groups; ++g) {
    // Centres at (±1, ±1); more than four groups continue around a circle of the same radius.
    double angle = M_PI / 4 + g * 2 * M_PI / groups;
    double cx = std::sqrt(2.0) * std::cos(angle), cy = std::sqrt(2.0) * std::sin(angle);
    for (int j = 0; j < classes_per_group; ++j) {
      int c = g * classes_per_group + j;
      group_of_class[c] = g;
      mean[c] = {cx + sg * rng.normal(), cy + sg * rng.normal()};
    }
  }
  auto fill = [&](data::Dataset& ds, int per_class, const char* name) {
    ds = data::Dataset();
    ds.d = 2;
    ds.n = static_cast<std::size_t>(K) * per_class;
    ds.source = name;
    for (int c = 0; c < K; ++c) ds.classes.push_back(cat("c", c < 10 ? "0" : "", c));
    for (int c = 0; c < K; ++c)
      for (int i = 0; i < per_class; ++i) {
        ds.x.push_back(static_cast<float>(mean[c][0] + sc * rng.normal()));
        ds.x.push_back(static_cast<float>(mean[c][1] + sc * rng.normal()));
        ds.y.push_back(c);
      }
  };
  fill(train, n_train, "simulation:train");
  fill(test, n_test, "simulation:test");
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
}

// One setting of the simulation, as its replicates' numbers before averaging.
struct SettingReps {
  std::vector<double> ari, ari_perm, le_true, le_ind, acc_flat, acc_true, acc_ind;
};

// Replicate `seed` of a setting: simulate, induce by GMM on the class means, fit flat / true / induced.
void simulate_rep(const SimulateConfig& cfg, const LearnerConfig& learner, double s2g, int cpg, int spc,
                  std::uint64_t seed, ProgressSink& progress, SettingReps& out) {
  data::Dataset train, test;
  std::vector<int> truth;
  simulate_data(cfg.groups, cpg, spc, cfg.test_per_class, s2g, cfg.sigma2_class, seed, train, test, truth);
  InduceConfig ic;
  ic.method = "means";
  ic.embed = "none";
  ic.cluster = "gmm";
  ic.k_min = 2;
  ic.k_max = std::min(train.num_classes() - 1, 2 * cfg.groups);
  ic.seed = seed;
  ic.threads = cfg.threads;
  InduceResult ind = induce(train, ic);
  out.ari.push_back(adjusted_rand_index(ind.groups, truth));
  std::vector<int> perm = truth;
  Rng prng(derive_seed(seed, 99));
  std::shuffle(perm.begin(), perm.end(), prng);
  out.ari_perm.push_back(adjusted_rand_index(perm, truth));
  LabelTree true_tree = LabelTree::from_groups(truth, train.classes);
  double af = fit_and_score(train, test, LabelTree::flat(train.classes), matched_flat_learner(learner, true_tree), seed,
                            cfg.threads, progress)
                  .first;
  double at = fit_and_score(train, test, true_tree, learner, seed, cfg.threads, progress).first;
  double ai = fit_and_score(train, test, ind.tree, learner, seed, cfg.threads, progress).first;
  out.acc_flat.push_back(af), out.acc_true.push_back(at), out.acc_ind.push_back(ai);
  out.le_true.push_back(learning_efficiency(1 - af, 1 - at));
  out.le_ind.push_back(learning_efficiency(1 - af, 1 - ai));
}

SimulateRow simulate_setting(const SimulateConfig& cfg, const LearnerConfig& learner, std::size_t setting, double s2g,
                             int cpg, int spc, ProgressSink& progress) {
  SettingReps reps;
  for (int r = 0; r < cfg.reps; ++r) {
    progress.check_cancel();
    simulate_rep(cfg, learner, s2g, cpg, spc, derive_seed(cfg.seed, setting, r), progress, reps);
  }
  auto finite = [](std::vector<double> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
    return v;
  };
  return SimulateRow{s2g,
                     cpg,
                     spc,
                     cfg.reps,
                     mean_se(reps.ari),
                     mean_se(reps.ari_perm),
                     mean_se(finite(reps.le_true)),
                     mean_se(finite(reps.le_ind)),
                     mean_se(reps.acc_flat),
                     mean_se(reps.acc_true),
                     mean_se(reps.acc_ind)};
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
              {"acc_induced", row.acc_induced.mean}};
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << "sigma2_group " << row.sigma2_group << ", " << row.classes_per_group
     << " classes/group, " << row.samples_per_class << " samples/class: ARI " << row.ari.mean << " (permuted "
     << row.ari_permuted.mean << "), learning efficiency true " << row.le_true.mean << ", induced "
     << row.le_induced.mean;
  p.summary = os.str();
  return p;
}

}  // namespace

std::vector<SimulateRow> run_simulation(const SimulateConfig& cfg, ProgressSink& progress) {
  check_simulate_config(cfg);
  std::vector<SimulateRow> rows;
  LearnerConfig learner;
  learner.kind = "forest";
  learner.forest.n_trees = cfg.trees;
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
        "acc_induced_mean,acc_induced_se\n";
  os << std::setprecision(6);
  for (const auto& r : rows)
    os << r.sigma2_group << "," << r.classes_per_group << "," << r.samples_per_class << "," << r.reps << ","
       << r.ari.mean << "," << r.ari.se << "," << r.ari_permuted.mean << "," << r.ari_permuted.se << ","
       << r.le_true.mean << "," << r.le_true.se << "," << r.le_induced.mean << "," << r.le_induced.se << ","
       << r.acc_flat.mean << "," << r.acc_flat.se << "," << r.acc_true.mean << "," << r.acc_true.se << ","
       << r.acc_induced.mean << "," << r.acc_induced.se << "\n";
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
