// The regime study's simulator (shapes, counts, reproducibility, the old defaults' exact numbers, the pretrained
// mode's low-rank means), the presets and node forests, the flat matching rules and the routing diagnostics.
#include "strata/hier/simulation.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "strata/core/error.h"
#include "strata/hier/experiment.h"
#include "strata/hier/hierarchical.h"

namespace strata::hier {
namespace {

SimSpec spec(int groups, int cpg, int dims, const std::string& features = "gaussian") {
  SimSpec s;
  s.groups = groups;
  s.classes_per_group = cpg;
  s.dims = dims;
  s.features = features;
  s.sigma2_between = 1.0;
  s.train_per_class = 6;
  s.test_per_class = 4;
  return s;
}

TEST(SimSpec, CountsShapesAndGroups) {
  for (const char* features : {"gaussian", "pretrained"}) {
    data::Dataset tr, te;
    std::vector<int> g;
    SimSpec s = spec(7, 3, 40, features);
    s.informative = 5;
    simulate_data(s, 11, tr, te, g);
    EXPECT_EQ(tr.num_classes(), 21) << features;
    EXPECT_EQ(tr.d, 40u);
    EXPECT_EQ(tr.n, 21u * 6);
    EXPECT_EQ(te.n, 21u * 4);
    EXPECT_EQ(tr.x.size(), tr.n * tr.d);
    EXPECT_EQ(te.x.size(), te.n * te.d);
    ASSERT_EQ(g.size(), 21u);
    for (int c = 0; c < 21; ++c) EXPECT_EQ(g[c], c / 3);
    for (std::size_t i = 0; i < tr.n; ++i) EXPECT_EQ(tr.y[i], static_cast<int>(i / 6));
    EXPECT_EQ(tr.classes, te.classes);
  }
}

TEST(SimSpec, ManyClassesKeepTheirNamesSorted) {
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(spec(40, 5, 3), 1, tr, te, g);
  ASSERT_EQ(tr.num_classes(), 200);
  EXPECT_EQ(tr.classes[7], "c007");
  EXPECT_TRUE(std::is_sorted(tr.classes.begin(), tr.classes.end()));
}

TEST(SimSpec, ReproducibleForASeedAndDifferentAcrossSeeds) {
  for (const char* features : {"gaussian", "pretrained"}) {
    data::Dataset a, at, b, bt, c, ct;
    std::vector<int> g;
    const SimSpec s = spec(3, 2, 9, features);
    simulate_data(s, 5, a, at, g);
    simulate_data(s, 5, b, bt, g);
    simulate_data(s, 6, c, ct, g);
    EXPECT_EQ(a.x, b.x) << features;
    EXPECT_EQ(at.x, bt.x) << features;
    EXPECT_NE(a.x, c.x) << features;
  }
}

// Per-dimension mean of class c's training rows.
std::vector<double> class_mean(const data::Dataset& ds, int c) {
  std::vector<double> m(ds.d, 0.0);
  int n = 0;
  for (std::size_t i = 0; i < ds.n; ++i)
    if (ds.y[i] == c) {
      ++n;
      for (std::size_t j = 0; j < ds.d; ++j) m[j] += ds.row(i)[j];
    }
  for (double& v : m) v /= n;
  return m;
}

TEST(SimSpec, OnlyTheInformativeDimsSeparateTheClasses) {
  SimSpec s = spec(2, 2, 10);
  s.informative = 3;
  s.sigma2_between = 25;  // centres far apart in the informative dims
  s.sigma2_class = 0.01;
  s.train_per_class = 400;
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(s, 3, tr, te, g);
  const auto m0 = class_mean(tr, 0), m2 = class_mean(tr, 2);  // classes of different groups
  double informative = 0, rest = 0;
  for (int j = 0; j < 3; ++j) informative += std::abs(m0[j] - m2[j]);
  for (int j = 3; j < 10; ++j) rest = std::max(rest, std::abs(m0[j] - m2[j]));
  EXPECT_GT(informative, 1.0);
  EXPECT_LT(rest, 0.05);  // noise dims: both classes average ~0 (s.e. 0.005)
}

TEST(SimSpec, PretrainedRowsLieInTheLatentSubspace) {
  SimSpec s = spec(4, 3, 30, "pretrained");
  s.informative = 4;
  s.sigma2_noise = 0;
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(s, 8, tr, te, g);
  Eigen::MatrixXd X(tr.n, tr.d);
  for (std::size_t i = 0; i < tr.n; ++i)
    for (std::size_t j = 0; j < tr.d; ++j) X(i, j) = tr.row(i)[j];
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(X);
  const auto sv = svd.singularValues();
  EXPECT_GT(sv(3), 1e-2 * sv(0));  // rank 4: the latent dims ...
  EXPECT_LT(sv(4), 1e-4 * sv(0));  // ... and nothing else without ambient noise
  s.sigma2_noise = 0.1;
  simulate_data(s, 8, tr, te, g);
  for (std::size_t i = 0; i < tr.n; ++i)
    for (std::size_t j = 0; j < tr.d; ++j) X(i, j) = tr.row(i)[j];
  EXPECT_GT(Eigen::JacobiSVD<Eigen::MatrixXd>(X).singularValues()(4), 1e-2 * sv(0));
}

TEST(SimSpec, OldTwoDimensionalFormIsTheDefaultSpec) {
  data::Dataset a, at, b, bt;
  std::vector<int> ga, gb;
  simulate_data(4, 3, 7, 5, 0.01, 0.1, 3, a, at, ga);
  SimSpec s;
  s.classes_per_group = 3, s.sigma2_group = 0.01, s.train_per_class = 7, s.test_per_class = 5;
  simulate_data(s, 3, b, bt, gb);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(at.x, bt.x);
  EXPECT_EQ(ga, gb);
}

TEST(SimSpec, RefusesBadSpecsNamingTheFlag) {
  auto refuses = [](SimSpec s, const std::string& flag) {
    try {
      validate(s);
      ADD_FAILURE() << "accepted a bad " << flag;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  SimSpec s;
  s.dims = 0;
  refuses(s, "--dims");
  s = SimSpec();
  s.informative = 3;  // more than the 2 dims
  refuses(s, "--informative");
  s = SimSpec();
  s.features = "pixels";
  refuses(s, "--features");
  s = SimSpec();
  s.sigma2_between = -1;
  refuses(s, "--sigma2-between");
  s = SimSpec();
  s.dims = 5, s.informative = 1;  // the circle layout needs two dims
  refuses(s, "--informative");
  s = SimSpec();
  s.groups = 0;
  refuses(s, "--groups");
}

// The table strata printed before the simulator grew: `strata simulate --reps 3 --sigma2-group 0.02,0.3
// --samples-per-class 5,20` from the previous release. Its columns must come back digit for digit.
TEST(Simulate, OldDefaultsGiveTheOldTable) {
  std::ifstream f(std::string(STRATA_TEST_DATA) + "/hier/sim_defaults_small.csv");
  ASSERT_TRUE(f) << "fixture missing";
  std::stringstream want;
  want << f.rdbuf();
  SimulateConfig cfg;
  cfg.reps = 3;
  cfg.sigma2_group = {0.02, 0.3};
  cfg.samples_per_class = {5, 20};
  cfg.threads = 2;
  const std::string got = simulation_csv(run_simulation(cfg));
  std::istringstream w(want.str()), g(got);
  std::string wl, gl;
  int lines = 0;
  while (std::getline(w, wl)) {
    ASSERT_TRUE(std::getline(g, gl));
    EXPECT_EQ(gl.substr(0, wl.size()), wl) << "line " << lines;  // new columns come after the old ones
    EXPECT_EQ(gl[wl.size()], ',');
    ++lines;
  }
  EXPECT_EQ(lines, 5);
}

TEST(Simulate, ManyGroupsInManyDimsReportEveryTree) {
  SimulateConfig cfg;
  cfg.groups = 6;
  cfg.classes_per_group = {3};
  cfg.samples_per_class = {10};
  cfg.sigma2_group = {0.05};
  cfg.data.dims = 24;
  cfg.data.features = "pretrained";
  cfg.data.informative = 6;
  cfg.data.sigma2_between = 2.0;
  cfg.test_per_class = 10;
  cfg.reps = 2;
  cfg.trees = 4;
  const auto rows = run_simulation(cfg);
  ASSERT_EQ(rows.size(), 1u);
  const SimulateRow& r = rows[0];
  EXPECT_GT(r.ari.mean, 0.6);  // well separated groups in the latent space are found through CMDS
  EXPECT_NEAR(r.diff_induced.mean, r.acc_induced.mean - r.acc_flat.mean, 1e-12);
  EXPECT_GT(r.coarse_true.mean, 0.5);  // 6 groups: chance 1/6
  EXPECT_LE(r.coarse_true.mean, 1.0);
  EXPECT_GT(r.acc_random.mean, 0.0);
  // hard routing can only score what the coarse node sends to the right group
  EXPECT_LE(r.coarse_true.mean * r.fine_true.mean, r.coarse_true.mean + 1e-12);
}

TEST(Routing, CoarseAndFineGivenGroup) {
  // 4 classes in groups {0,1} {2,3}; rows: truth 0, 1, 2, 3.
  const std::vector<int> groups{0, 0, 1, 1}, truth{0, 1, 2, 3};
  const std::vector<float> proba{
      0.6f, 0.1f, 0.2f, 0.1f,  // group 0 (0.7) right, class 0 right
      0.4f, 0.2f, 0.3f, 0.1f,  // group 0 (0.6) right, class 0 wrong
      0.5f, 0.2f, 0.2f, 0.1f,  // group 0 (0.7) wrong
      0.0f, 0.1f, 0.4f, 0.5f,  // group 1 right, class 3 right
  };
  const RoutingScore r = routing_score(proba.data(), 4, 4, groups, truth);
  EXPECT_DOUBLE_EQ(r.coarse_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r.fine_given_group, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.hard_accuracy, 0.5);
  EXPECT_THROW(routing_score(proba.data(), 4, 4, {0, 1}, truth), Error);
  const std::vector<float> wrong{0, 0, 1, 0};
  EXPECT_TRUE(std::isnan(routing_score(wrong.data(), 1, 4, groups, {0}).fine_given_group));
}

TEST(Presets, AuthorsAndStrata) {
  const Preset a = preset("authors");
  EXPECT_EQ(a.learner.forest.n_trees, 10);
  EXPECT_EQ(a.learner.forest.max_depth, 10);
  EXPECT_EQ(a.nodes.coarse_trees, 25);
  EXPECT_EQ(a.nodes.flat_match, FlatMatch::kNode);
  EXPECT_EQ(a.induce.method, "means");
  EXPECT_EQ(a.induce.cluster, "gmm");
  const Preset s = preset("strata");
  EXPECT_EQ(s.nodes.coarse_trees, 0);
  EXPECT_EQ(s.nodes.flat_match, FlatMatch::kPath);
  EXPECT_THROW(preset("paper"), Error);
}

TEST(Presets, FlatMatchingRules) {
  // a coarse node over 3 groups (two of them with 2+ classes: 3 node models in all)
  const LabelTree t = LabelTree::from_groups({0, 0, 1, 1, 2}, {"a", "b", "c", "d", "e"});
  LearnerConfig per_node;
  per_node.forest.n_trees = 10;
  per_node.forest.max_depth = 10;
  NodeForests strata_nodes;
  LearnerConfig f = matched_flat(per_node, t, strata_nodes);
  EXPECT_EQ(f.forest.n_trees, 30);
  EXPECT_EQ(f.forest.max_depth, 20);
  NodeForests authors{25, FlatMatch::kNode};
  f = matched_flat(per_node, t, authors);
  EXPECT_EQ(f.forest.n_trees, 25 + 2 * 10);
  EXPECT_EQ(f.forest.max_depth, 10);
  per_node.kind = "logistic";
  EXPECT_EQ(matched_flat(per_node, t, authors).forest.n_trees, 10);  // not a forest: unchanged
}

// One tree at the root gives 0/1 group probabilities (an unlimited-depth tree's leaves are pure); 25 do not.
TEST(Presets, CoarseTreesReachOnlyTheRootModel) {
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(3, 3, 15, 10, 0.2, 0.2, 4, tr, te, g);
  const LabelTree tree = LabelTree::from_groups(g, tr.classes);
  auto group_mass_fractional = [&](int coarse) {
    HierarchicalConfig hc;
    hc.learner.forest.n_trees = 25;
    hc.seed = 3;
    HierarchicalClassifier clf(hc, node_forest_factory(NodeForests{coarse, FlatMatch::kPath}, hc.seed));
    clf.fit(tr, tree);
    std::vector<float> p(te.n * 9);
    clf.predict_proba(te.x.data(), te.n, te.d, p.data());
    int fractional = 0, fine_fractional = 0;
    for (std::size_t i = 0; i < te.n; ++i) {
      for (int gr = 0; gr < 3; ++gr) {
        const double m = p[i * 9 + 3 * gr] + p[i * 9 + 3 * gr + 1] + p[i * 9 + 3 * gr + 2];
        fractional += m > 1e-6 && m < 1 - 1e-6;
        if (m > 0.999) fine_fractional += p[i * 9 + 3 * gr] > 1e-6 && p[i * 9 + 3 * gr] < m - 1e-6;
      }
    }
    return std::make_pair(fractional, fine_fractional);
  };
  const auto one = group_mass_fractional(1), many = group_mass_fractional(0);
  EXPECT_EQ(one.first, 0);
  EXPECT_GT(one.second, 0);  // the fine models still have 25 trees
  EXPECT_GT(many.first, 0);
  EXPECT_EQ(node_forest_factory(NodeForests{}, 0), nullptr);
}

TEST(Compare, HierarchicalRowsReportCoarseAndFine) {
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(3, 2, 15, 10, 0.005, 0.05, 9, tr, te, g);
  CompareConfig cfg;
  cfg.learner.forest.n_trees = 5;
  cfg.induce.embed = "none";
  cfg.seeds = 2;
  cfg.nodes.coarse_trees = 7;
  cfg.true_tree = LabelTree::from_groups(g, tr.classes);
  const CompareResult r = run_compare(tr, te, cfg);
  EXPECT_TRUE(r.rows[0].coarse.empty());
  for (std::size_t i = 1; i < r.rows.size(); ++i) {
    ASSERT_EQ(r.rows[i].coarse.size(), 2u) << r.rows[i].name;
    for (int s = 0; s < 2; ++s) {
      // accuracy never exceeds the share of rows routed to the right group
      EXPECT_LE(r.rows[i].accuracy[s], r.rows[i].coarse[s] + 1e-12) << r.rows[i].name;
      EXPECT_GT(r.rows[i].coarse[s], 0.5);
    }
  }
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_TRUE(j["true"].contains("coarse_accuracy"));
  EXPECT_TRUE(j["induced"].contains("fine_given_group"));
  EXPECT_FALSE(j["flat"].contains("coarse_accuracy"));
  EXPECT_NE(r.to_table().find("fine|grp"), std::string::npos);
}

}  // namespace
}  // namespace strata::hier
