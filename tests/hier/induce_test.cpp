// Induction pipeline: recovers the true groups of hierarchical Gaussians through every representation,
// rejects inconsistent configurations, and silhouette matches a hand computation.
#include "strata/hier/induce.h"

#include <gtest/gtest.h>

#include "strata/core/error.h"
#include "strata/hier/experiment.h"
#include "strata/hier/metrics.h"

namespace strata::hier {
namespace {

struct Sim {
  data::Dataset train, test;
  std::vector<int> truth;
};

Sim make_sim(std::uint64_t seed, int per_class = 40) {
  Sim s;
  simulate_data(4, 3, per_class, 10, 0.003, 0.05, seed, s.train, s.test, s.truth);
  return s;
}

// True when the classes of every true group form exactly the class set of some node of the tree.
bool groups_are_subtrees(const LabelTree& t, const std::vector<int>& truth) {
  int G = *std::max_element(truth.begin(), truth.end()) + 1;
  for (int g = 0; g < G; ++g) {
    std::vector<int> want;
    for (int c = 0; c < static_cast<int>(truth.size()); ++c)
      if (truth[c] == g) want.push_back(c);
    bool found = false;
    for (int v = 0; v < static_cast<int>(t.nodes.size()) && !found; ++v) found = t.classes_under(v) == want;
    if (!found) return false;
  }
  return true;
}

TEST(Induce, MeansGmmRecoversGroups) {
  Sim s = make_sim(1);
  InduceConfig cfg;
  cfg.embed = "none";
  cfg.k_max = 6;
  InduceResult r = induce(s.train, cfg);
  EXPECT_EQ(r.k, 4);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(r.groups, s.truth), 1.0);
  EXPECT_EQ(r.tree.depth(), 2);
  EXPECT_FALSE(r.bic_table.empty());
}

TEST(Induce, MmdCmdsGmmRecoversGroups) {
  Sim s = make_sim(2);
  InduceConfig cfg;
  cfg.method = "mmd";
  cfg.embed = "cmds";
  cfg.dims = 2;
  cfg.k_max = 6;
  InduceResult r = induce(s.train, cfg);
  EXPECT_GT(adjusted_rand_index(r.groups, s.truth), 0.9);
  EXPECT_EQ(r.dissimilarity.rows(), 12);
}

TEST(Induce, AgglomerativeWardKeepsGroupsAsSubtrees) {
  Sim s = make_sim(3);
  InduceConfig cfg;
  cfg.embed = "none";
  cfg.cluster = "agglomerative";
  cfg.linkage = "ward";
  InduceResult r = induce(s.train, cfg);
  r.tree.validate();
  EXPECT_GE(r.tree.depth(), 3);
  EXPECT_TRUE(groups_are_subtrees(r.tree, s.truth));
}

TEST(Induce, KmeansSilhouetteFindsFourGroups) {
  Sim s = make_sim(4);
  InduceConfig cfg;
  cfg.embed = "none";
  cfg.cluster = "kmeans";
  cfg.k_max = 6;
  InduceResult r = induce(s.train, cfg);
  EXPECT_EQ(r.k, 4);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(r.groups, s.truth), 1.0);
}

TEST(Induce, TaskSimilarityAseRuns) {
  Sim s = make_sim(5, 30);
  InduceConfig cfg;
  cfg.method = "tasksim";
  cfg.embed = "ase";
  cfg.cluster = "kmeans";
  cfg.k_max = 6;
  InduceResult r = induce(s.train, cfg);
  r.tree.validate();
  EXPECT_GE(r.k, 2);
  EXPECT_EQ(r.groups.size(), 12u);
}

TEST(Induce, DeterministicPerSeed) {
  Sim s = make_sim(6);
  InduceConfig cfg;
  cfg.seed = 11;
  EXPECT_EQ(induce(s.train, cfg).tree.to_json(), induce(s.train, cfg).tree.to_json());
}

TEST(Induce, RejectsInconsistentConfig) {
  Sim s = make_sim(7, 5);
  InduceConfig cfg;
  cfg.method = "mmd";
  cfg.embed = "none";
  cfg.cluster = "gmm";
  try {
    induce(s.train, cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("--embed"), std::string::npos);
  }
  InduceConfig c2;
  c2.method = "nearest";
  EXPECT_THROW(validate(c2), Error);
  InduceConfig c3;
  c3.k_min = 5;
  c3.k_max = 3;
  EXPECT_THROW(validate(c3), Error);
}

TEST(Silhouette, HandComputed) {
  // Points 0, 1 | 10, 12 (1-D). a(0)=1, b(0)=(10+12)/2=11 -> s=10/11; a(1)=1, b(1)=(9+11)/2=10 -> 9/10;
  // a(10)=2, b(10)=(10+9)/2=9.5 -> 7.5/9.5; a(12)=2, b(12)=(12+11)/2=11.5 -> 9.5/11.5.
  Eigen::MatrixXd X(4, 1);
  X << 0, 1, 10, 12;
  double want = (10.0 / 11 + 9.0 / 10 + 7.5 / 9.5 + 9.5 / 11.5) / 4;
  EXPECT_NEAR(silhouette(X, {0, 0, 1, 1}), want, 1e-12);
}

}  // namespace
}  // namespace strata::hier
