// Tests of the hierarchy toolkit over several ranks (the hierarchy half of L2Lp, issue 10), with the ranks as
// threads of an in-process group: a forest, a hierarchical classifier and `compare` give every rank exactly one
// process's result, and a cancel request on one rank stops every rank instead of leaving them waiting.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>

#include "recording_sink.h"
#include "small_compare.h"
#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/rng.h"
#include "strata/hier/experiment.h"
#include "strata/hier/forest.h"
#include "strata/hier/hierarchical.h"
#include "../common/thread_ranks.h"

namespace strata::hier {
namespace {

using testing::rethrow_any;
using testing::run_ranks;

// k classes in d dimensions (class c shifted along axis c), n rows.
data::Dataset blobs(int k, std::size_t n, std::size_t d, std::uint64_t seed) {
  data::Dataset ds;
  ds.d = d;
  ds.n = n;
  for (int c = 0; c < k; ++c) ds.classes.push_back("c" + std::to_string(c));
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % k);
    ds.y.push_back(c);
    for (std::size_t j = 0; j < d; ++j)
      ds.x.push_back(static_cast<float>(rng.normal() + (static_cast<int>(j) == c ? 2.0 : 0.0)));
  }
  return ds;
}

ForestConfig small_forest() {
  ForestConfig cfg;
  cfg.n_trees = 7;  // not a multiple of 2 or 3: the last round leaves ranks without a tree
  cfg.seed = 11;
  cfg.threads = 1;
  return cfg;
}

std::string saved(const Classifier& c) {
  Writer w;
  c.save(w);
  return w.bytes();
}

TEST(OverRanks, ForestEqualsOneProcessOnEveryRank) {
  const data::Dataset ds = blobs(4, 240, 6, 1);
  for (bool honest : {false, true}) {
    ForestConfig cfg = small_forest();
    cfg.honest = honest;
    RandomForest one(cfg);
    one.fit(ds.x.data(), ds.n, ds.d, ds.y.data(), 4);
    const std::string want = saved(one);  // every tree, every leaf and the importances
    for (int ranks : {2, 3}) {
      std::vector<std::string> got(ranks);
      rethrow_any(run_ranks(ranks, [&](dist::ProcessGroup& g, int r) {
        RandomForest rf(cfg);
        rf.set_process_group(&g);
        rf.fit(ds.x.data(), ds.n, ds.d, ds.y.data(), 4);
        got[r] = saved(rf);
      }));
      for (int r = 0; r < ranks; ++r)
        EXPECT_TRUE(got[r] == want) << ranks << " ranks, rank " << r << ", honest " << honest;
    }
  }
}

TEST(OverRanks, ForestCancelOnOneRankStopsEveryRank) {
  const data::Dataset ds = blobs(3, 90, 4, 2);
  for (int asking : {0, 1}) {
    std::vector<int> unfitted(2, 0), kept_group(2, 0);
    const auto thrown = run_ranks(2, [&](dist::ProcessGroup& g, int r) {
      RecordingSink sink;
      if (r == asking) sink.request_cancel();
      RandomForest rf(small_forest());
      rf.set_process_group(&g);
      try {
        // The other rank passes no sink at all: it still joins the decision.
        rf.fit(ds.x.data(), ds.n, ds.d, ds.y.data(), 3, r == asking ? &sink : nullptr);
      } catch (const Cancelled&) {
        unfitted[r] = rf.n_trees() == 0;
        kept_group[r] = rf.process_group() == &g;
        throw;
      }
    });
    for (int r = 0; r < 2; ++r) {
      ASSERT_TRUE(thrown[r]) << "rank " << r << " was not cancelled (asking rank " << asking << ")";
      EXPECT_THROW(std::rethrow_exception(thrown[r]), Cancelled);
      EXPECT_TRUE(unfitted[r]);
      EXPECT_TRUE(kept_group[r]);
    }
  }
}

std::string temp_path(const std::string& tag) {
  return ::testing::TempDir() + "strata_over_ranks_" + tag + "_" + std::to_string(::getpid());
}

// A model file with its stored fit seconds (which differ run to run) zeroed: they are the 8 bytes of the loaded
// model's fit_seconds(), found in the file.
std::string masked_model(const std::string& path) {
  std::string bytes = read_file(path);
  const double secs = HierarchicalClassifier::load(path).fit_seconds();
  char pattern[sizeof secs];
  std::memcpy(pattern, &secs, sizeof secs);
  const std::size_t at = bytes.find(std::string(pattern, sizeof secs));
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) bytes.replace(at, sizeof secs, sizeof secs, '\0');
  return bytes;
}

TEST(OverRanks, HierarchicalModelFileEqualsOneProcess) {
  const data::Dataset ds = blobs(6, 300, 8, 3);
  const LabelTree tree = LabelTree::from_groups({0, 0, 1, 1, 1, 2}, ds.classes);
  HierarchicalConfig cfg;
  cfg.learner.forest = small_forest();
  cfg.seed = 5;
  cfg.threads = 1;
  HierarchicalClassifier one(cfg);
  one.fit(ds, tree);
  const std::string one_path = temp_path("one");
  one.save(one_path);
  const std::string want = masked_model(one_path);
  std::vector<std::string> paths(2);
  rethrow_any(run_ranks(2, [&](dist::ProcessGroup& g, int r) {
    HierarchicalClassifier h(cfg);
    h.set_process_group(&g).fit(ds, tree);
    paths[r] = temp_path("rank" + std::to_string(r));
    h.save(paths[r]);
  }));
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(masked_model(paths[r]) == want) << "rank " << r;
    std::remove(paths[r].c_str());
  }
  std::remove(one_path.c_str());
}

TEST(OverRanks, HierarchicalCancelOnOneRankStopsEveryRank) {
  const data::Dataset ds = blobs(4, 120, 4, 4);
  const LabelTree tree = LabelTree::from_groups({0, 0, 1, 1}, ds.classes);
  HierarchicalConfig cfg;
  cfg.learner.forest = small_forest();
  std::vector<int> unfitted(2, 0);
  const auto thrown = run_ranks(2, [&](dist::ProcessGroup& g, int r) {
    RecordingSink sink;
    if (r == 1) sink.request_cancel();
    HierarchicalClassifier h(cfg);
    h.set_process_group(&g);
    try {
      h.fit(ds, tree, &sink);
    } catch (const Cancelled&) {
      unfitted[r] = !h.fitted() && h.num_node_models() == 0;
      throw;
    }
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(thrown[r]) << "rank " << r << " was not cancelled";
    EXPECT_THROW(std::rethrow_exception(thrown[r]), Cancelled);
    EXPECT_TRUE(unfitted[r]);
  }
}

// The results of compare without what is measured (seconds).
nlohmann::json without_seconds(const CompareResult& r) {
  nlohmann::json j = nlohmann::json::parse(r.to_json());
  for (auto& [name, row] : j.items())
    if (row.is_object()) row.erase("fit_seconds");
  return j;
}

TEST(OverRanks, CompareEqualsOneProcessOnEveryRank) {
  const SmallCompare c(5, 1);  // 5 seeds over 2 and 3 ranks: uneven last rounds
  RecordingSink one_sink;
  const CompareResult one = run_compare(c.tr, c.te, c.cfg, one_sink);
  for (int ranks : {2, 3}) {
    std::vector<CompareResult> got(ranks);
    std::deque<RecordingSink> sinks(static_cast<std::size_t>(ranks));
    rethrow_any(
        run_ranks(ranks, [&](dist::ProcessGroup& g, int r) { got[r] = run_compare(c.tr, c.te, c.cfg, sinks[r], &g); }));
    for (int r = 0; r < ranks; ++r) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks, rank " + std::to_string(r));
      ASSERT_EQ(got[r].rows.size(), one.rows.size());
      for (std::size_t i = 0; i < one.rows.size(); ++i) {
        EXPECT_EQ(got[r].rows[i].accuracy, one.rows[i].accuracy) << one.rows[i].name;
        EXPECT_EQ(got[r].rows[i].groups, one.rows[i].groups) << one.rows[i].name;
        EXPECT_EQ(got[r].rows[i].ari, one.rows[i].ari) << one.rows[i].name;
        EXPECT_EQ(got[r].rows[i].fit_seconds.size(), one.rows[i].fit_seconds.size());
      }
      ASSERT_EQ(got[r].induced_trees.size(), one.induced_trees.size());
      for (std::size_t s = 0; s < one.induced_trees.size(); ++s) {
        EXPECT_EQ(got[r].induced_trees[s].to_json(), one.induced_trees[s].to_json()) << "seed " << s;
        EXPECT_EQ(got[r].induced_trees[s].to_svg(), one.induced_trees[s].to_svg()) << "seed " << s;
      }
      EXPECT_EQ(without_seconds(got[r]), without_seconds(one));
      // The same events in seed order; only the measured seconds differ.
      ASSERT_EQ(sinks[r].results.size(), one_sink.results.size());
      for (std::size_t s = 0; s < one_sink.results.size(); ++s) {
        const ResultProgress &a = sinks[r].results[s], &b = one_sink.results[s];
        EXPECT_EQ(a.index, b.index);
        EXPECT_EQ(a.label, b.label);
        ASSERT_EQ(a.values.size(), b.values.size());
        for (std::size_t v = 0; v + 1 < b.values.size(); ++v) EXPECT_EQ(a.values[v], b.values[v]);
        EXPECT_EQ(a.summary.substr(0, a.summary.rfind(';')), b.summary.substr(0, b.summary.rfind(';')));
      }
    }
  }
}

TEST(OverRanks, CompareCancelOnOneRankStopsEveryRankAfterTheRound) {
  const SmallCompare c(5, 1);
  std::deque<RecordingSink> sinks;
  sinks.emplace_back(-1);
  sinks.emplace_back(1);  // rank 1 asks to stop after the first result it reports
  const auto thrown = run_ranks(2, [&](dist::ProcessGroup& g, int r) { run_compare(c.tr, c.te, c.cfg, sinks[r], &g); });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(thrown[r]) << "rank " << r << " was not cancelled";
    EXPECT_THROW(std::rethrow_exception(thrown[r]), Cancelled);
    EXPECT_EQ(sinks[r].results.size(), 2u) << "rank " << r << ": the first round's two seeds, then a joint stop";
  }
}

}  // namespace
}  // namespace strata::hier
