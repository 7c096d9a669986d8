// Experiments: the simulation generator, compare's rows and JSON, the simulation's headline behaviour
// (induced partitions beat a permuted baseline when groups are tight), and progress / cancellation as events.
#include "strata/hier/experiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "recording_sink.h"
#include "small_compare.h"
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

TEST(Compare, ReportsOneResultPerSeedWithItsAccuracies) {
  SmallCompare c(2);
  RecordingSink sink;
  CompareResult r = run_compare(c.tr, c.te, c.cfg, sink);
  ASSERT_EQ(sink.results.size(), 2u);
  for (int s = 0; s < 2; ++s) {
    const ResultProgress& p = sink.results[s];
    EXPECT_EQ(p.experiment, "compare");
    EXPECT_EQ(p.index, s + 1);
    EXPECT_EQ(p.count, 2);
    EXPECT_EQ(p.label, "seed " + std::to_string(s + 1));
    ASSERT_EQ(p.values.size(), r.rows.size() + 1);
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
      EXPECT_EQ(p.values[i].first, r.rows[i].name);
      EXPECT_EQ(p.values[i].second, r.rows[i].accuracy[s]) << r.rows[i].name << " seed " << s;
    }
    EXPECT_EQ(p.values.back().first, "seconds");
    EXPECT_GE(p.values.back().second, 0.0);
    // The line the CLI has always printed: "seed 1/2: flat 0.9333  induced ...  (detail; 0.1 s)".
    char flat[64];
    std::snprintf(flat, sizeof flat, "seed %d/2: flat %.4f  induced %.4f  ", s + 1, r.rows[0].accuracy[s],
                  r.rows[1].accuracy[s]);
    EXPECT_EQ(p.summary.rfind(flat, 0), 0u) << p.summary;
    EXPECT_EQ(p.summary.substr(p.summary.size() - 3), " s)") << p.summary;
  }
  // The sink only watches: the same run without one gives the same numbers.
  CompareResult quiet = run_compare(c.tr, c.te, c.cfg);
  for (std::size_t i = 0; i < r.rows.size(); ++i) EXPECT_EQ(quiet.rows[i].accuracy, r.rows[i].accuracy);
}

TEST(Compare, CancelAfterTheFirstSeedStopsThere) {
  SmallCompare c(3);
  RecordingSink sink(/*cancel_after_results=*/1);
  EXPECT_THROW(run_compare(c.tr, c.te, c.cfg, sink), Cancelled);
  EXPECT_EQ(sink.results.size(), 1u);
  try {
    RecordingSink again(1);
    run_compare(c.tr, c.te, c.cfg, again);
    ADD_FAILURE() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kCancelled);
  }
}

SimulateConfig small_simulation() {
  SimulateConfig cfg;
  cfg.sigma2_group = {0.01};
  cfg.samples_per_class = {5, 10};
  cfg.reps = 2;
  cfg.trees = 3;
  cfg.test_per_class = 10;
  return cfg;
}

TEST(Simulate, ReportsOneResultPerSettingWithItsMeans) {
  RecordingSink sink;
  auto rows = run_simulation(small_simulation(), sink);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(sink.results.size(), 2u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ResultProgress& p = sink.results[i];
    const SimulateRow& row = rows[i];
    EXPECT_EQ(p.experiment, "simulate");
    EXPECT_EQ(p.index, static_cast<int>(i) + 1);
    EXPECT_EQ(p.count, 2);
    EXPECT_EQ(p.label,
              "sigma2_group 0.01, 4 classes/group, " + std::to_string(row.samples_per_class) + " samples/class");
    const std::vector<std::pair<std::string, double>> want = {{"ari", row.ari.mean},
                                                              {"ari_permuted", row.ari_permuted.mean},
                                                              {"le_true", row.le_true.mean},
                                                              {"le_induced", row.le_induced.mean},
                                                              {"acc_flat", row.acc_flat.mean},
                                                              {"acc_true", row.acc_true.mean},
                                                              {"acc_induced", row.acc_induced.mean},
                                                              {"le_random", row.le_random.mean},
                                                              {"acc_random", row.acc_random.mean}};
    ASSERT_EQ(p.values.size(), want.size());
    for (std::size_t v = 0; v < want.size(); ++v) {
      EXPECT_EQ(p.values[v].first, want[v].first);
      const double got = p.values[v].second;  // NaN when no replicate had a finite learning efficiency
      EXPECT_TRUE(got == want[v].second || (std::isnan(got) && std::isnan(want[v].second))) << want[v].first;
    }
    char line[256];
    std::snprintf(line, sizeof line,
                  "sigma2_group 0.010, 4 classes/group, %d samples/class: ARI %.3f (permuted %.3f), learning "
                  "efficiency true %.3f, induced %.3f, random %.3f",
                  row.samples_per_class, row.ari.mean, row.ari_permuted.mean, row.le_true.mean, row.le_induced.mean,
                  row.le_random.mean);
    EXPECT_EQ(p.summary, line);
  }
  auto quiet = run_simulation(small_simulation());
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(quiet[i].acc_induced.mean, rows[i].acc_induced.mean);
}

TEST(Simulate, CancelAfterTheFirstSettingStopsThere) {
  RecordingSink sink(/*cancel_after_results=*/1);
  EXPECT_THROW(run_simulation(small_simulation(), sink), Cancelled);
  EXPECT_EQ(sink.results.size(), 1u);
}

}  // namespace
}  // namespace strata::hier
