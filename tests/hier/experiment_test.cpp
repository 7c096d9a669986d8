// Experiments: the simulation generator, compare's rows and JSON, and the simulation's headline behaviour
// (induced partitions beat a permuted baseline when groups are tight).
#include "strata/hier/experiment.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "strata/core/error.h"

namespace strata::hier {
namespace {

TEST(Simulate, DataShapesAndGroups) {
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(4, 3, 7, 5, 0.01, 0.1, 3, tr, te, g);
  EXPECT_EQ(tr.n, 84u);
  EXPECT_EQ(te.n, 60u);
  EXPECT_EQ(tr.d, 2u);
  EXPECT_EQ(tr.num_classes(), 12);
  EXPECT_EQ(g, (std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}));
  // Group 0 sits near (1, 1): its class-0 samples average close to it.
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < 7; ++i) mx += tr.row(i)[0] / 7, my += tr.row(i)[1] / 7;
  EXPECT_NEAR(mx, 1.0, 0.5);
  EXPECT_NEAR(my, 1.0, 0.5);
}

TEST(Simulate, TightGroupsGiveHighAriAboveBaseline) {
  SimulateConfig cfg;
  cfg.sigma2_group = {0.003};
  cfg.samples_per_class = {20};
  cfg.reps = 3;
  cfg.trees = 5;
  cfg.test_per_class = 20;
  auto rows = run_simulation(cfg);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GT(rows[0].ari.mean, 0.9);
  EXPECT_LT(rows[0].ari_permuted.mean, 0.3);
  std::string csv = simulation_csv(rows);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);
  EXPECT_NE(simulation_svg(rows).find("<svg"), std::string::npos);
}

TEST(Simulate, RejectsBadSettings) {
  SimulateConfig cfg;
  cfg.samples_per_class = {1};
  EXPECT_THROW(run_simulation(cfg), Error);
  SimulateConfig c2;
  c2.reps = 0;
  EXPECT_THROW(run_simulation(c2), Error);
}

TEST(Compare, RowsAndJson) {
  data::Dataset tr, te;
  std::vector<int> g;
  simulate_data(3, 2, 15, 10, 0.005, 0.05, 9, tr, te, g);
  CompareConfig cfg;
  cfg.learner.forest.n_trees = 5;
  cfg.induce.embed = "none";
  cfg.seeds = 2;
  cfg.true_tree = LabelTree::from_groups(g, tr.classes);
  CompareResult r = run_compare(tr, te, cfg);
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0].name, "flat");
  EXPECT_DOUBLE_EQ(r.rows[0].learning_efficiency, 1.0);
  for (const auto& row : r.rows) {
    EXPECT_EQ(row.accuracy.size(), 2u);
    EXPECT_GT(row.acc().mean, 0.5);  // 6 well-separated-ish classes, chance is 1/6
  }
  EXPECT_DOUBLE_EQ(r.rows[3].ari[0], 1.0);  // the true tree against itself
  auto j = nlohmann::json::parse(r.to_json());
  for (const char* k : {"flat", "induced", "random", "true"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["induced"].contains("learning_efficiency"));
  EXPECT_TRUE(j["induced"].contains("groups"));
  EXPECT_TRUE(j["induced"].contains("ari"));
  EXPECT_NE(r.to_table().find("induced"), std::string::npos);
}

TEST(Compare, RejectsMismatchedTestData) {
  data::Dataset tr, te, other;
  std::vector<int> g;
  simulate_data(2, 2, 5, 5, 0.01, 0.1, 1, tr, te, g);
  simulate_data(2, 3, 5, 5, 0.01, 0.1, 1, other, other, g);
  CompareConfig cfg;
  cfg.seeds = 1;
  EXPECT_THROW(run_compare(tr, other, cfg), Error);
}

}  // namespace
}  // namespace strata::hier
