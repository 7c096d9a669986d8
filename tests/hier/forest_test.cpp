// Tests of strata::hier::RandomForest: learning, determinism across seeds and thread counts, depth and leaf-size
// limits, honest trees, absent classes, apply(), importances, save/load, bad input, cancellation and the
// prediction pool.
#include "strata/hier/forest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <thread>

#include "recording_sink.h"
#include "strata/core/error.h"
#include "strata/core/progress.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

struct Data {
  std::size_t n = 0, d = 0;
  std::vector<float> x;  // (n, d)
  std::vector<std::int32_t> y;
};

// k Gaussian blobs in d dimensions, centres sep apart along distinct axes (features >= k are pure noise).
Data blobs(std::size_t n, std::size_t d, int k, double sep, std::uint64_t seed) {
  Rng rng(seed);
  Data data{n, d, std::vector<float>(n * d), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % k);
    data.y[i] = c;
    for (std::size_t j = 0; j < d; ++j)
      data.x[i * d + j] = static_cast<float>(rng.normal() + (static_cast<int>(j) == c ? sep : 0.0));
  }
  return data;
}

// Two uniform features in [-1, 1], label = (x0 > 0) xor (x1 > 0): no single split helps.
Data xor_data(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Data data{n, 2, std::vector<float>(n * 2), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const float a = static_cast<float>(2 * rng.uniform() - 1), b = static_cast<float>(2 * rng.uniform() - 1);
    data.x[2 * i] = a;
    data.x[2 * i + 1] = b;
    data.y[i] = (a > 0) != (b > 0);
  }
  return data;
}

std::vector<float> proba(const RandomForest& rf, const Data& data) {
  std::vector<float> p(data.n * rf.num_classes());
  rf.predict_proba(data.x.data(), data.n, data.d, p.data());
  return p;
}

double accuracy(const RandomForest& rf, const Data& data) {
  const auto p = proba(rf, data);
  const int c = rf.num_classes();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < data.n; ++i)
    ok += std::max_element(p.begin() + i * c, p.begin() + (i + 1) * c) - (p.begin() + i * c) == data.y[i];
  return static_cast<double>(ok) / static_cast<double>(data.n);
}

RandomForest fitted(const ForestConfig& cfg, const Data& data, int n_classes) {
  RandomForest rf(cfg);
  rf.fit(data.x.data(), data.n, data.d, data.y.data(), n_classes);
  return rf;
}

int tree_depth(const RandomForest::Tree& t, int node = 0) {
  const auto& nd = t.nodes[node];
  if (nd.feature < 0) return 0;
  return 1 + std::max(tree_depth(t, nd.left), tree_depth(t, nd.right));
}

ForestConfig small_config() {
  ForestConfig cfg;
  cfg.n_trees = 30;
  cfg.seed = 7;
  cfg.threads = 2;
  return cfg;
}

TEST(RandomForest, LearnsSeparableBlobs) {
  const Data train = blobs(1500, 10, 4, 4.0, 1), test = blobs(1000, 10, 4, 4.0, 2);
  const RandomForest rf = fitted(small_config(), train, 4);
  EXPECT_EQ(rf.num_classes(), 4);
  EXPECT_EQ(rf.n_trees(), 30);
  EXPECT_GT(accuracy(rf, test), 0.95);
}

TEST(RandomForest, RowsSumToOne) {
  const Data train = blobs(600, 6, 3, 1.0, 3);  // overlapping: non-trivial probabilities
  const RandomForest rf = fitted(small_config(), train, 3);
  const auto p = proba(rf, train);
  bool some_mixed = false;
  for (std::size_t i = 0; i < train.n; ++i) {
    double s = 0;
    for (int k = 0; k < 3; ++k) {
      EXPECT_GE(p[i * 3 + k], 0.0f);
      s += p[i * 3 + k];
      some_mixed |= p[i * 3 + k] > 0.05f && p[i * 3 + k] < 0.95f;
    }
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  EXPECT_TRUE(some_mixed);
}

TEST(RandomForest, IdenticalAcrossThreadCounts) {
  const Data train = blobs(800, 8, 3, 1.5, 4);
  std::vector<float> ref;
  std::string ref_bytes;
  for (int threads : {1, 2, 4}) {
    ForestConfig cfg = small_config();
    cfg.threads = threads;
    const RandomForest rf = fitted(cfg, train, 3);
    Writer w;
    rf.save(w);
    if (threads == 1) {
      ref = proba(rf, train);
      ref_bytes = w.bytes();
    } else {
      EXPECT_EQ(proba(rf, train), ref) << threads << " threads";
      EXPECT_EQ(w.bytes(), ref_bytes) << threads << " threads";  // the trees themselves, not just predictions
    }
  }
  // Same seed, same thread count, a second fit: the same model.
  EXPECT_EQ(proba(fitted(small_config(), train, 3), train), proba(fitted(small_config(), train, 3), train));
}

TEST(RandomForest, HonestIdenticalAcrossThreadCounts) {
  const Data train = blobs(800, 8, 3, 1.5, 4);
  ForestConfig cfg = small_config();
  cfg.honest = true;
  cfg.threads = 1;
  const auto ref = proba(fitted(cfg, train, 3), train);
  cfg.threads = 3;
  EXPECT_EQ(proba(fitted(cfg, train, 3), train), ref);
}

TEST(RandomForest, DifferentSeedsDiffer) {
  const Data train = blobs(800, 8, 3, 1.5, 5);
  ForestConfig a = small_config(), b = small_config();
  b.seed = a.seed + 1;
  EXPECT_NE(proba(fitted(a, train, 3), train), proba(fitted(b, train, 3), train));
}

TEST(RandomForest, MaxDepthIsRespected) {
  const Data train = xor_data(2000, 6), test = xor_data(2000, 7);
  ForestConfig cfg = small_config();
  cfg.max_features = 2;
  cfg.max_depth = 3;
  const RandomForest rf3 = fitted(cfg, train, 2);
  for (int t = 0; t < rf3.n_trees(); ++t) EXPECT_LE(tree_depth(rf3.tree(t)), 3);
  // Stumps cannot express xor; unlimited trees can.
  cfg.max_depth = 1;
  const RandomForest stumps = fitted(cfg, train, 2);
  for (int t = 0; t < stumps.n_trees(); ++t) EXPECT_EQ(stumps.tree(t).nodes.size(), 3u);
  EXPECT_LT(accuracy(stumps, test), 0.7);
  cfg.max_depth = 0;
  EXPECT_GT(accuracy(fitted(cfg, train, 2), test), 0.95);
}

TEST(RandomForest, DepthOneMatchesBestStumpOnOneFeature) {
  // One informative feature: every stump (max_features = d) picks the best threshold, so the forest is as
  // accurate as the best stump found by brute force on the training set.
  Rng rng(8);
  Data train{1000, 1, std::vector<float>(1000), std::vector<std::int32_t>(1000)};
  for (std::size_t i = 0; i < train.n; ++i) {
    train.x[i] = static_cast<float>(rng.uniform());
    train.y[i] = (train.x[i] > 0.37f) != (rng.uniform() < 0.1);  // 10 % label noise
  }
  double best = 0;
  for (std::size_t i = 0; i < train.n; ++i) {
    std::size_t ok = 0;
    for (std::size_t j = 0; j < train.n; ++j) ok += (train.x[j] > train.x[i]) == (train.y[j] == 1);
    best = std::max({best, ok / 1000.0, 1.0 - ok / 1000.0});
  }
  ForestConfig cfg = small_config();
  cfg.max_depth = 1;
  cfg.bootstrap = false;
  EXPECT_NEAR(accuracy(fitted(cfg, train, 2), train), best, 0.01);
}

TEST(RandomForest, MinSamplesLeafIsRespected) {
  const Data train = blobs(1000, 5, 3, 1.0, 9);
  ForestConfig cfg = small_config();
  cfg.bootstrap = false;  // every training row reaches exactly one leaf of every tree
  cfg.min_samples_leaf = 25;
  const RandomForest rf = fitted(cfg, train, 3);
  for (int t = 0; t < rf.n_trees(); ++t) {
    const auto leaves = rf.apply(train.x.data(), train.n, train.d, t);
    std::vector<int> count(rf.tree(t).nodes.size(), 0);
    for (int l : leaves) ++count[l];
    int n_leaves = 0;
    for (std::size_t k = 0; k < count.size(); ++k) {
      if (rf.tree(t).nodes[k].feature >= 0) continue;
      ++n_leaves;
      EXPECT_GE(count[k], 25) << "tree " << t << " leaf " << k;
    }
    EXPECT_GT(n_leaves, 3);
  }
}

TEST(RandomForest, ApplyAgreesWithPredictProba) {
  const Data train = blobs(500, 6, 3, 1.0, 10);
  const RandomForest rf = fitted(small_config(), train, 3);
  std::vector<float> sum(train.n * 3, 0.0f);
  for (int t = 0; t < rf.n_trees(); ++t) {
    const auto leaves = rf.apply(train.x.data(), train.n, train.d, t);
    for (std::size_t i = 0; i < train.n; ++i) {
      const auto& nd = rf.tree(t).nodes[leaves[i]];
      ASSERT_EQ(nd.feature, -1);
      for (int k = 0; k < 3; ++k) sum[i * 3 + k] += rf.tree(t).values[nd.left + k];
    }
  }
  const float inv = 1.0f / static_cast<float>(rf.n_trees());
  for (auto& v : sum) v *= inv;
  EXPECT_EQ(sum, proba(rf, train));
  EXPECT_THROW(rf.apply(train.x.data(), train.n, train.d, rf.n_trees()), Error);
}

// Reference prediction: the float walk of apply(), leaf distributions summed in tree order, then scaled, which is
// exactly what predict_proba computes, so the two must agree bit for bit.
std::vector<float> reference_proba(const RandomForest& rf, const float* x, std::size_t n, std::size_t d) {
  const int c = rf.num_classes();
  std::vector<float> sum(n * c, 0.0f);
  for (int t = 0; t < rf.n_trees(); ++t) {
    const auto leaves = rf.apply(x, n, d, t);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& nd = rf.tree(t).nodes[leaves[i]];
      for (int k = 0; k < c; ++k) sum[i * c + k] += rf.tree(t).values[nd.left + k];
    }
  }
  const float inv = 1.0f / static_cast<float>(rf.n_trees());
  for (auto& v : sum) v *= inv;
  return sum;
}

TEST(RandomForest, PackedPredictMatchesFloatWalkOnEdgeValues) {
  // Continuous features (quantile bins) plus a few-valued one; deep trees; test rows hit every threshold exactly,
  // its float neighbours, -0, +-inf and NaN, over several row blocks with a partial last block.
  Rng rng(31);
  const std::size_t n = 3000, d = 7;
  Data train{n, d, std::vector<float>(n * d), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j + 1 < d; ++j) train.x[i * d + j] = static_cast<float>(rng.normal());
    train.x[i * d + d - 1] = static_cast<float>(rng.below(5)) - 2.0f;
    train.y[i] = static_cast<std::int32_t>(rng.below(5));
  }
  ForestConfig cfg = small_config();
  cfg.n_trees = 12;
  const RandomForest rf = fitted(cfg, train, 5);
  std::vector<float> specials = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(), std::nanf("")};
  for (int t = 0; t < rf.n_trees(); ++t)
    for (const auto& nd : rf.tree(t).nodes)
      if (nd.feature >= 0) {
        specials.push_back(nd.threshold);
        specials.push_back(std::nextafter(nd.threshold, -INFINITY));
        specials.push_back(std::nextafter(nd.threshold, INFINITY));
      }
  const std::size_t m = 1100;  // three row blocks of 512, the last partial and not a multiple of 32 lanes
  std::vector<float> test(m * d);
  for (auto& v : test) v = specials[rng.below(specials.size())];
  const auto want = reference_proba(rf, test.data(), m, d);
  std::vector<float> got(m * 5);
  rf.predict_proba(test.data(), m, d, got.data());
  EXPECT_EQ(got, want);
  ForestConfig one = cfg;
  one.threads = 1;
  RandomForest rf1 = fitted(one, train, 5);
  std::vector<float> got1(m * 5);
  rf1.predict_proba(test.data(), m, d, got1.data());
  EXPECT_EQ(got1, want);
}

TEST(RandomForest, UnpackableModelsStillPredictExactly) {
  // Hand-made trees the packed layout cannot hold: 300 distinct thresholds on one feature (bins are uint8), and a
  // child shared by two parents (load only requires children after their parent). Prediction must still follow
  // the float walk, and never crash.
  const Data train = blobs(200, 2, 2, 2.0, 32);
  ForestConfig cfg = small_config();
  cfg.n_trees = 2;
  RandomForest rf = fitted(cfg, train, 2);
  RandomForest::Tree chain;  // internal node i at 2i: x0 <= i - 150 goes to leaf 2i + 1, else on to 2i + 2
  const int k = 300;
  for (int i = 0; i < k; ++i) {
    chain.nodes.push_back({0, static_cast<float>(i - 150), 2 * i + 1, 2 * i + 2});
    chain.nodes.push_back({-1, 0.0f, static_cast<std::int32_t>(chain.values.size()), -1});
    const float p = static_cast<float>(i) / k;
    chain.values.insert(chain.values.end(), {p, 1.0f - p});
  }
  chain.nodes.push_back({-1, 0.0f, static_cast<std::int32_t>(chain.values.size()), -1});
  chain.values.insert(chain.values.end(), {1.0f, 0.0f});
  RandomForest::Tree shared;
  shared.nodes = {{1, 0.5f, 1, 2}, {0, -1.0f, 3, 4}, {0, 1.0f, 3, 4}, {-1, 0.0f, 0, -1}, {-1, 0.0f, 2, -1}};
  shared.values = {0.25f, 0.75f, 0.5f, 0.5f};
  for (const auto& tree : {chain, shared}) {
    const_cast<RandomForest::Tree&>(rf.tree(0)) = tree;
    Writer w;
    rf.save(w);
    Reader r(w.bytes(), "hand.bin");
    RandomForest loaded(cfg);
    loaded.load(r);
    std::vector<float> test(2 * 700);
    Rng rng(33);
    for (auto& v : test) v = static_cast<float>(rng.below(400)) - 200.0f + 0.5f * static_cast<float>(rng.below(2));
    test[0] = std::nanf("");
    std::vector<float> got(700 * 2);
    loaded.predict_proba(test.data(), 700, 2, got.data());
    EXPECT_EQ(got, reference_proba(loaded, test.data(), 700, 2));
  }
}

TEST(RandomForest, HonestTreesLearnAndDiffer) {
  const Data train = blobs(1500, 10, 4, 4.0, 11), test = blobs(1000, 10, 4, 4.0, 12);
  ForestConfig cfg = small_config();
  const auto plain = proba(fitted(cfg, train, 4), test);
  cfg.honest = true;
  const RandomForest honest = fitted(cfg, train, 4);
  EXPECT_GT(accuracy(honest, test), 0.95);
  EXPECT_NE(proba(honest, test), plain);
  for (int t = 0; t < honest.n_trees(); ++t)
    for (std::size_t l = 0; l < honest.tree(t).values.size(); l += 4) {
      const float* v = honest.tree(t).values.data() + l;
      EXPECT_NEAR(v[0] + v[1] + v[2] + v[3], 1.0f, 1e-5f);
    }
}

TEST(RandomForest, HonestLeavesEstimateFromHeldOutRows) {
  // Labels independent of x: structure-sample leaves of fully grown trees are pure (probabilities 0/1), while
  // honest leaves are estimated on other rows, so most of them are not pure.
  Rng rng(13);
  Data train{400, 3, std::vector<float>(1200), std::vector<std::int32_t>(400)};
  for (auto& v : train.x) v = static_cast<float>(rng.uniform());
  for (auto& v : train.y) v = static_cast<std::int32_t>(rng.below(2));
  ForestConfig cfg = small_config();
  cfg.n_trees = 5;
  auto pure_fraction = [&](const RandomForest& rf) {
    std::size_t pure = 0, total = 0;
    for (int t = 0; t < rf.n_trees(); ++t)
      for (std::size_t l = 0; l < rf.tree(t).values.size(); l += 2, ++total)
        pure += rf.tree(t).values[l] == 0.0f || rf.tree(t).values[l] == 1.0f;
    return static_cast<double>(pure) / static_cast<double>(total);
  };
  EXPECT_EQ(pure_fraction(fitted(cfg, train, 2)), 1.0);
  cfg.honest = true;
  EXPECT_LT(pure_fraction(fitted(cfg, train, 2)), 0.9);
}

TEST(RandomForest, AbsentClassGetsZeroProbability) {
  Data train = blobs(600, 5, 3, 3.0, 14);
  for (auto& c : train.y) c = c == 2 ? 3 : c;  // classes 0, 1, 3 of 5
  const RandomForest rf = fitted(small_config(), train, 5);
  EXPECT_EQ(rf.num_classes(), 5);
  const auto p = proba(rf, train);
  ASSERT_EQ(p.size(), train.n * 5);
  for (std::size_t i = 0; i < train.n; ++i) {
    EXPECT_EQ(p[i * 5 + 2], 0.0f);
    EXPECT_EQ(p[i * 5 + 4], 0.0f);
    EXPECT_NEAR(p[i * 5] + p[i * 5 + 1] + p[i * 5 + 3], 1.0f, 1e-5f);
  }
}

TEST(RandomForest, QuantileBinsStillFindThresholds) {
  // 5000 distinct values per feature (> 256 bins): the cut sits within a bin width of the true one.
  Rng rng(15);
  Data train{5000, 2, std::vector<float>(10000), std::vector<std::int32_t>(5000)};
  for (std::size_t i = 0; i < train.n; ++i) {
    train.x[2 * i] = static_cast<float>(rng.uniform() * 1000);
    train.x[2 * i + 1] = static_cast<float>(rng.normal());
    train.y[i] = train.x[2 * i] > 371.5f;
  }
  ForestConfig cfg = small_config();
  cfg.max_features = 2;
  cfg.max_depth = 1;
  const RandomForest rf = fitted(cfg, train, 2);
  for (int t = 0; t < rf.n_trees(); ++t) {
    EXPECT_EQ(rf.tree(t).nodes[0].feature, 0);
    EXPECT_NEAR(rf.tree(t).nodes[0].threshold, 371.5f, 1000.0f / 256);
  }
  EXPECT_GT(accuracy(rf, train), 0.99);
}

TEST(RandomForest, SmallIntegerFeaturesSplitExactly) {
  // Few distinct values: every value has its own bin and a fully grown tree separates all distinct rows.
  Data train{64, 2, std::vector<float>(128), std::vector<std::int32_t>(64)};
  Rng rng(16);
  for (std::size_t i = 0; i < 64; ++i) {
    train.x[2 * i] = static_cast<float>(i % 8);
    train.x[2 * i + 1] = static_cast<float>(i / 8);
    train.y[i] = static_cast<std::int32_t>(rng.below(3));
  }
  ForestConfig cfg = small_config();
  cfg.bootstrap = false;
  cfg.max_features = 2;
  cfg.n_trees = 3;
  const RandomForest rf = fitted(cfg, train, 3);
  EXPECT_EQ(accuracy(rf, train), 1.0);
  for (int t = 0; t < rf.n_trees(); ++t)
    for (const auto& nd : rf.tree(t).nodes)
      if (nd.feature >= 0) {
        EXPECT_EQ(nd.threshold - std::floor(nd.threshold), 0.5f);  // midway between integers
      }
}

TEST(RandomForest, ImportancesFavourTheInformativeFeature) {
  Rng rng(17);
  Data train{1000, 5, std::vector<float>(5000), std::vector<std::int32_t>(1000)};
  for (std::size_t i = 0; i < train.n; ++i) {
    for (std::size_t j = 0; j < 5; ++j) train.x[i * 5 + j] = static_cast<float>(rng.normal());
    train.y[i] = train.x[i * 5 + 3] > 0.2f;
  }
  const RandomForest rf = fitted(small_config(), train, 2);
  const auto& imp = rf.feature_importances();
  ASSERT_EQ(imp.size(), 5u);
  EXPECT_NEAR(std::accumulate(imp.begin(), imp.end(), 0.0), 1.0, 1e-9);
  EXPECT_EQ(std::max_element(imp.begin(), imp.end()) - imp.begin(), 3);
  EXPECT_GT(imp[3], 0.5);
}

TEST(RandomForest, SaveLoadIsBitIdentical) {
  const Data train = blobs(700, 6, 3, 1.0, 18);
  ForestConfig cfg = small_config();
  cfg.honest = true;
  const RandomForest rf = fitted(cfg, train, 3);
  Writer w;
  save_classifier(rf, w);
  Reader r(w.bytes(), "forest.bin");
  const auto loaded = load_classifier(r);
  EXPECT_TRUE(r.done());
  ASSERT_EQ(loaded->kind(), "forest");
  ASSERT_EQ(loaded->num_classes(), 3);
  std::vector<float> p(train.n * 3);
  loaded->predict_proba(train.x.data(), train.n, train.d, p.data());
  EXPECT_EQ(p, proba(rf, train));
  const auto& lf = dynamic_cast<const RandomForest&>(*loaded);
  EXPECT_EQ(lf.feature_importances(), rf.feature_importances());
  EXPECT_TRUE(lf.config().honest);
}

TEST(RandomForest, TruncatedOrCorruptPayloadThrows) {
  const Data train = blobs(300, 4, 3, 1.0, 19);
  ForestConfig cfg = small_config();
  cfg.n_trees = 3;
  const RandomForest rf = fitted(cfg, train, 3);
  Writer w;
  save_classifier(rf, w);
  const std::string& bytes = w.bytes();
  for (std::size_t cut = 0; cut < bytes.size(); cut += std::max<std::size_t>(1, bytes.size() / 40)) {
    const std::string part = bytes.substr(0, cut);
    Reader r(part, "forest.bin");
    try {
      load_classifier(r);
      ADD_FAILURE() << "no error for a payload cut at " << cut;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find("forest.bin"), std::string::npos);
    }
  }
  // A child index pointing back at the root would loop forever: rejected at load.
  RandomForest copy = rf;
  Writer w2;
  RandomForest bad = rf;
  const_cast<RandomForest::Tree&>(bad.tree(0)).nodes[0].left = 0;
  bad.save(w2);
  Reader r2(w2.bytes(), "bad.bin");
  EXPECT_THROW(copy.load(r2), Error);
}

TEST(RandomForest, BadInputIsReported) {
  Data train = blobs(100, 3, 2, 2.0, 20);
  RandomForest rf(small_config());
  train.y[5] = 2;
  EXPECT_THROW(rf.fit(train.x.data(), train.n, train.d, train.y.data(), 2), Error);
  train.y[5] = 1;
  train.x[7] = std::nanf("");
  EXPECT_THROW(rf.fit(train.x.data(), train.n, train.d, train.y.data(), 2), Error);
  train.x[7] = 0.0f;
  std::vector<float> p(2);
  EXPECT_THROW(rf.predict_proba(train.x.data(), 1, 3, p.data()), Error);  // not fitted
  rf.fit(train.x.data(), train.n, train.d, train.y.data(), 2);
  EXPECT_THROW(rf.predict_proba(train.x.data(), 1, 2, p.data()), Error);  // wrong width
  ForestConfig cfg = small_config();
  cfg.max_features = 4;
  RandomForest too_many(cfg);
  EXPECT_THROW(too_many.fit(train.x.data(), train.n, train.d, train.y.data(), 2), Error);
}

TEST(RandomForest, CancelledFitThrowsAndLeavesNoModel) {
  const Data train = blobs(300, 4, 3, 2.0, 21);
  RandomForest rf = fitted(small_config(), train, 3);
  ASSERT_EQ(rf.n_trees(), 30);
  ProgressSink sink;
  sink.request_cancel();
  EXPECT_THROW(rf.fit(train.x.data(), train.n, train.d, train.y.data(), 3, &sink), Cancelled);
  EXPECT_EQ(rf.n_trees(), 0);  // the earlier fit is gone, not passed off as this one
  std::vector<float> p(train.n * 3);
  EXPECT_THROW(rf.predict_proba(train.x.data(), train.n, train.d, p.data()), Error);
  // A sink that is not cancelled changes nothing.
  ProgressSink quiet;
  rf.fit(train.x.data(), train.n, train.d, train.y.data(), 3, &quiet);
  EXPECT_EQ(proba(rf, train), proba(fitted(small_config(), train, 3), train));
}

TEST(RandomForest, CancelStopsBetweenTrees) {
  // Far more trees than 50 ms can grow: only a check between trees can make this fit throw.
  const Data train = blobs(2000, 8, 4, 1.0, 22);
  ForestConfig cfg = small_config();
  cfg.n_trees = 20000;
  RandomForest rf(cfg);
  ProgressSink sink;
  {
    CancelLater canceller(sink, 50);
    EXPECT_THROW(rf.fit(train.x.data(), train.n, train.d, train.y.data(), 4, &sink), Cancelled);
  }
  EXPECT_EQ(rf.n_trees(), 0);
}

TEST(RandomForest, PredictionDoesNotDependOnThePool) {
  const Data train = blobs(400, 5, 3, 1.0, 23);
  const Data test = blobs(3000, 5, 3, 1.0, 24);  // six blocks of rows
  const RandomForest rf = fitted(small_config(), train, 3);
  const std::vector<float> want = proba(rf, test);
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    std::vector<float> p(test.n * 3);
    rf.predict_proba(test.x.data(), test.n, test.d, p.data(), pool);
    EXPECT_EQ(p, want) << threads << " threads";
  }
  // Callers on several threads at once: one uses the forest's kept pool, the others pools of their own.
  std::vector<std::vector<float>> got(4, std::vector<float>(test.n * 3));
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 3; ++rep) rf.predict_proba(test.x.data(), test.n, test.d, got[c].data());
    });
  for (auto& t : callers) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace strata::hier
