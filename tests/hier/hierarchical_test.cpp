// Tests for src/strata/hier/hierarchical.cpp: the product rule against node models fitted by hand, singleton
// and absent classes, flat-tree equivalence, soft vs hard routing, the model file, and cancellation.
#include "strata/hier/hierarchical.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "../common/error_matchers.h"
#include "recording_sink.h"
#include "strata/core/error.h"
#include "strata/core/progress.h"
#include "strata/core/rng.h"

namespace strata::hier {
namespace {

// Test-only learner: softmax of minus the squared distance to each class centroid; classes without examples
// get probability 0 (the Classifier contract).
class CentroidSoftmax : public Classifier {
 public:
  std::string kind() const override { return "centroid"; }
  int num_classes() const override { return k_; }
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) override {
    k_ = n_classes;
    d_ = d;
    mu_.assign(static_cast<std::size_t>(k_) * d, 0.0);
    cnt_.assign(k_, 0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t f = 0; f < d; ++f) mu_[y[i] * d + f] += x[i * d + f];
      cnt_[y[i]]++;
    }
    for (int c = 0; c < k_; ++c)
      for (std::size_t f = 0; f < d; ++f)
        if (cnt_[c]) mu_[c * d + f] /= cnt_[c];
  }
  void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const override {
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> s(k_, -1e300);
      double mx = -1e300;
      for (int c = 0; c < k_; ++c) {
        if (!cnt_[c]) continue;
        double dist = 0;
        for (std::size_t f = 0; f < d; ++f) dist += std::pow(x[i * d + f] - mu_[c * d + f], 2);
        s[c] = -0.5 * dist;
        mx = std::max(mx, s[c]);
      }
      double z = 0;
      for (int c = 0; c < k_; ++c) z += cnt_[c] ? std::exp(s[c] - mx) : 0.0;
      for (int c = 0; c < k_; ++c) proba[i * k_ + c] = cnt_[c] ? static_cast<float>(std::exp(s[c] - mx) / z) : 0.f;
    }
  }
  void save(Writer&) const override {}
  void load(Reader&) override {}

 private:
  int k_ = 0;
  std::size_t d_ = 0;
  std::vector<double> mu_;
  std::vector<int> cnt_;
};

LearnerFactory centroid_factory() {
  return [](const LearnerConfig&) { return std::make_unique<CentroidSoftmax>(); };
}

std::vector<std::string> names(int k) {
  std::vector<std::string> v;
  for (int c = 0; c < k; ++c) v.push_back("c" + std::to_string(c));
  return v;
}

// k classes in 2-D, class c centred on a circle of radius 3, per rows each; classes in `skip` get no rows.
data::Dataset circle_data(int k, std::size_t per, std::uint64_t seed, std::vector<int> skip = {}) {
  data::Dataset ds;
  ds.d = 2;
  ds.classes = names(k);
  Rng rng(seed);
  for (std::size_t i = 0; i < per; ++i)
    for (int c = 0; c < k; ++c) {
      if (std::find(skip.begin(), skip.end(), c) != skip.end()) continue;
      const double a = 2 * M_PI * c / k;
      ds.x.push_back(static_cast<float>(3 * std::cos(a) + rng.normal()));
      ds.x.push_back(static_cast<float>(3 * std::sin(a) + rng.normal()));
      ds.y.push_back(c);
      ds.n++;
    }
  return ds;
}

std::vector<float> proba_of(const HierarchicalClassifier& h, const data::Dataset& ds) {
  std::vector<float> p(ds.n * h.num_classes());
  h.predict_proba(ds.x.data(), ds.n, ds.d, p.data());
  return p;
}

void expect_rows_sum_to_one(const std::vector<float>& p, int k) {
  for (std::size_t i = 0; i < p.size() / k; ++i) {
    double s = 0;
    for (int c = 0; c < k; ++c) {
      EXPECT_GE(p[i * k + c], 0.f);
      s += p[i * k + c];
    }
    EXPECT_NEAR(s, 1.0, 1e-5) << "row " << i;
  }
}

// Fits a centroid model by hand on the rows whose class is in `classes`, labelled local[class].
CentroidSoftmax fit_by_hand(const data::Dataset& ds, const std::vector<int>& local_of_class, int n_local) {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  for (std::size_t i = 0; i < ds.n; ++i)
    if (local_of_class[ds.y[i]] >= 0) {
      x.insert(x.end(), ds.row(i), ds.row(i) + ds.d);
      y.push_back(local_of_class[ds.y[i]]);
    }
  CentroidSoftmax m;
  m.fit(x.data(), y.size(), ds.d, y.data(), n_local);
  return m;
}

TEST(Hierarchical, ProductRuleMatchesNodeModels) {
  data::Dataset ds = circle_data(4, 40, 1);
  LabelTree t = LabelTree::from_groups({0, 0, 1, 1}, ds.classes);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, t);
  EXPECT_EQ(h.num_node_models(), 3);
  EXPECT_EQ(h.classes(), ds.classes);
  EXPECT_GE(h.fit_seconds(), 0.0);
  std::vector<float> p = proba_of(h, ds);
  expect_rows_sum_to_one(p, 4);
  CentroidSoftmax root = fit_by_hand(ds, {0, 0, 1, 1}, 2);
  CentroidSoftmax g0 = fit_by_hand(ds, {0, 1, -1, -1}, 2);
  CentroidSoftmax g1 = fit_by_hand(ds, {-1, -1, 0, 1}, 2);
  std::vector<float> pr(ds.n * 2), p0(ds.n * 2), p1(ds.n * 2);
  root.predict_proba(ds.x.data(), ds.n, 2, pr.data());
  g0.predict_proba(ds.x.data(), ds.n, 2, p0.data());
  g1.predict_proba(ds.x.data(), ds.n, 2, p1.data());
  for (std::size_t i = 0; i < ds.n; ++i) {
    EXPECT_NEAR(p[i * 4 + 0], pr[i * 2] * p0[i * 2], 1e-6);
    EXPECT_NEAR(p[i * 4 + 1], pr[i * 2] * p0[i * 2 + 1], 1e-6);
    EXPECT_NEAR(p[i * 4 + 2], pr[i * 2 + 1] * p1[i * 2], 1e-6);
    EXPECT_NEAR(p[i * 4 + 3], pr[i * 2 + 1] * p1[i * 2 + 1], 1e-6);
  }
  // A sensible classifier on well-separated blobs.
  std::vector<int> pred = h.predict(ds.x.data(), ds.n, ds.d);
  int hit = 0;
  for (std::size_t i = 0; i < ds.n; ++i) hit += pred[i] == ds.y[i];
  EXPECT_GT(hit, static_cast<int>(0.8 * ds.n));
}

TEST(Hierarchical, DeepTreeRowsSumToOne) {
  data::Dataset ds = circle_data(5, 20, 2);
  LabelTree t = LabelTree::from_merges({{3, 4}, {0, 1}, {2, 5}, {6, 7}}, ds.classes);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, t);
  EXPECT_EQ(h.num_node_models(), 4);
  expect_rows_sum_to_one(proba_of(h, ds), 5);
}

TEST(Hierarchical, SingletonGroupNeedsNoModel) {
  data::Dataset ds = circle_data(3, 30, 3);
  LabelTree t = LabelTree::from_groups({0, 0, 1}, ds.classes);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, t);
  EXPECT_EQ(h.num_node_models(), 2);
  std::vector<float> p = proba_of(h, ds);
  expect_rows_sum_to_one(p, 3);
  CentroidSoftmax root = fit_by_hand(ds, {0, 0, 1}, 2);
  std::vector<float> pr(ds.n * 2);
  root.predict_proba(ds.x.data(), ds.n, 2, pr.data());
  for (std::size_t i = 0; i < ds.n; ++i) EXPECT_NEAR(p[i * 3 + 2], pr[i * 2 + 1], 1e-6);
}

TEST(Hierarchical, AbsentClassGetsZero) {
  // Class 3 (in group {2, 3}) and the whole group {4} have no training rows.
  data::Dataset ds = circle_data(5, 25, 4, {3, 4});
  LabelTree t = LabelTree::from_groups({0, 0, 1, 1, 2}, ds.classes);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, t);
  EXPECT_EQ(h.num_node_models(), 2);  // root (2 groups with data) and group {0, 1}
  data::Dataset test = circle_data(5, 10, 5);
  std::vector<float> p = proba_of(h, test);
  expect_rows_sum_to_one(p, 5);
  for (std::size_t i = 0; i < test.n; ++i) {
    EXPECT_EQ(p[i * 5 + 3], 0.f);
    EXPECT_EQ(p[i * 5 + 4], 0.f);
  }
  h.set_routing(HierarchicalConfig::Routing::kHard);
  std::vector<int> pred = h.predict(test.x.data(), test.n, test.d);
  for (int c : pred) EXPECT_LT(c, 3);
}

TEST(Hierarchical, FlatTreeIsTheFlatLearner) {
  data::Dataset ds = circle_data(4, 30, 6);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, LabelTree::flat(ds.classes));
  EXPECT_EQ(h.num_node_models(), 1);
  CentroidSoftmax flat;
  flat.fit(ds.x.data(), ds.n, ds.d, ds.y.data(), 4);
  std::vector<float> want(ds.n * 4);
  flat.predict_proba(ds.x.data(), ds.n, ds.d, want.data());
  EXPECT_EQ(proba_of(h, ds), want);
}

TEST(Hierarchical, FlatTreeIsTheFlatForest) {
  data::Dataset ds = circle_data(4, 30, 7);
  HierarchicalConfig cfg;
  cfg.learner.kind = "forest";
  cfg.learner.forest.n_trees = 8;
  cfg.learner.forest.max_depth = 4;
  cfg.seed = 17;
  cfg.threads = 2;
  HierarchicalClassifier h(cfg);
  h.fit(ds, LabelTree::flat(ds.classes));
  LearnerConfig lc = cfg.learner;
  lc.forest.seed = HierarchicalClassifier::node_seed(cfg.seed, 0);
  auto flat = make_classifier(lc);
  flat->fit(ds.x.data(), ds.n, ds.d, ds.y.data(), 4);
  std::vector<float> want(ds.n * 4);
  flat->predict_proba(ds.x.data(), ds.n, ds.d, want.data());
  EXPECT_EQ(proba_of(h, ds), want);
}

TEST(Hierarchical, HardRoutingFollowsTheArgmaxPath) {
  data::Dataset ds = circle_data(6, 20, 8);
  LabelTree t = LabelTree::from_groups({0, 0, 1, 1, 1, 2}, ds.classes);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, t);
  std::vector<float> soft = proba_of(h, ds);
  h.set_routing(HierarchicalConfig::Routing::kHard);
  std::vector<float> hard = proba_of(h, ds);
  CentroidSoftmax root = fit_by_hand(ds, {0, 0, 1, 1, 1, 2}, 3);
  CentroidSoftmax g0 = fit_by_hand(ds, {0, 1, -1, -1, -1, -1}, 2);
  CentroidSoftmax g1 = fit_by_hand(ds, {-1, -1, 0, 1, 2, -1}, 3);
  const std::vector<std::vector<int>> members{{0, 1}, {2, 3, 4}, {5}};
  bool differs = false;
  for (std::size_t i = 0; i < ds.n; ++i) {
    const float* x = ds.row(i);
    std::vector<float> pr(3);
    root.predict_proba(x, 1, 2, pr.data());
    const int g = static_cast<int>(std::max_element(pr.begin(), pr.end()) - pr.begin());
    int want = 5;
    if (g < 2) {
      std::vector<float> pg(members[g].size());
      (g == 0 ? g0 : g1).predict_proba(x, 1, 2, pg.data());
      want = members[g][std::max_element(pg.begin(), pg.end()) - pg.begin()];
    }
    for (int c = 0; c < 6; ++c) EXPECT_EQ(hard[i * 6 + c], c == want ? 1.f : 0.f) << "row " << i;
    for (int c = 0; c < 6; ++c) differs |= soft[i * 6 + c] != hard[i * 6 + c];
  }
  EXPECT_TRUE(differs);
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/strata_hier_" + std::to_string(::getpid()) + "_" + name;
}

// A plain write (no fsync): the truncation test writes a hundred files.
void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Hierarchical, SaveLoadPredictsIdentically) {
  data::Dataset ds = circle_data(5, 30, 9);
  LabelTree t = LabelTree::from_groups({0, 1, 0, 2, 2}, ds.classes);
  for (const char* kind : {"logistic", "forest"}) {
    HierarchicalConfig cfg;
    cfg.learner.kind = kind;
    cfg.learner.forest.n_trees = 5;
    cfg.learner.logistic.max_iter = 50;
    cfg.seed = 3;
    cfg.threads = 1;
    HierarchicalClassifier h(cfg);
    h.fit(ds, t);
    const std::string path = temp_path(std::string("model_") + kind);
    h.save(path);
    HierarchicalClassifier back = HierarchicalClassifier::load(path);
    EXPECT_EQ(back.tree().to_json(), t.to_json());
    EXPECT_EQ(back.classes(), ds.classes);
    EXPECT_EQ(back.num_node_models(), h.num_node_models());
    EXPECT_EQ(back.num_features(), 2u);
    EXPECT_EQ(back.config().learner.kind, kind);
    EXPECT_EQ(back.config().seed, 3u);
    EXPECT_EQ(proba_of(back, ds), proba_of(h, ds)) << kind;
    h.set_routing(HierarchicalConfig::Routing::kHard);
    back.set_routing(HierarchicalConfig::Routing::kHard);
    EXPECT_EQ(proba_of(back, ds), proba_of(h, ds)) << kind;
    std::remove(path.c_str());
  }
}

TEST(Hierarchical, TruncatedOrForeignFileIsBadInput) {
  data::Dataset ds = circle_data(4, 20, 10);
  HierarchicalConfig cfg;
  cfg.learner.kind = "logistic";
  cfg.learner.logistic.max_iter = 20;
  HierarchicalClassifier h(cfg);
  h.fit(ds, LabelTree::from_groups({0, 0, 1, 1}, ds.classes));
  const std::string path = temp_path("trunc");
  h.save(path);
  const std::string full = read_file(path);
  const std::string cut_path = temp_path("trunc_cut");
  int checked = 0;
  for (std::size_t len = 0; len < full.size(); len += 1 + full.size() / 97) {
    write_plain(cut_path, full.substr(0, len));
    try {
      HierarchicalClassifier::load(cut_path);
      ADD_FAILURE() << "a file cut to " << len << " of " << full.size() << " bytes loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput) << e.what();
      if (len > 100) {
        EXPECT_NE(std::string(e.what()).find("byte"), std::string::npos) << e.what();
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 50);
  std::string foreign = full;
  foreign[0] = 'X';
  write_plain(cut_path, foreign);
  try {
    HierarchicalClassifier::load(cut_path);
    ADD_FAILURE() << "bad magic accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
  }
  write_plain(cut_path, full + "junk");
  EXPECT_THROW(HierarchicalClassifier::load(cut_path), Error);
  std::remove(path.c_str());
  std::remove(cut_path.c_str());
}

// The model file embeds its tree as compact JSON (linear in the tree, whatever its depth), and an embedded tree is
// read as a tree file is: too deep, malformed or quoting huge values is bad input naming the file.
TEST(Hierarchical, EmbeddedTreeIsCompactAndReadWithTheTreeLimits) {
  data::Dataset ds = circle_data(4, 20, 12);
  HierarchicalConfig cfg;
  cfg.learner.kind = "logistic";
  cfg.learner.logistic.max_iter = 20;
  HierarchicalClassifier h(cfg);
  h.fit(ds, LabelTree::from_groups({0, 0, 1, 1}, ds.classes));
  const std::string path = temp_path("embedded");
  h.save(path);
  const std::string full = read_file(path);
  const std::size_t at = full.find("{\"classes\"");
  ASSERT_NE(at, std::string::npos);
  std::uint64_t n = 0;
  std::memcpy(&n, full.data() + at - 8, 8);
  EXPECT_EQ(full.substr(at, n), h.tree().to_json());
  EXPECT_EQ(full.substr(at, n).find("\n      "), std::string::npos);  // indented at the top two levels only
  auto with_tree = [&](const std::string& tree) {
    std::string bytes = full.substr(0, at - 8);
    const std::uint64_t len = tree.size();
    bytes.append(reinterpret_cast<const char*>(&len), 8);
    bytes += tree + full.substr(at + n);
    const std::string p = temp_path("embedded_bad");
    write_plain(p, bytes);
    return p;
  };
  std::string deep = "{\"classes\": [\"a\"], \"tree\": ";
  for (int i = 0; i < 30000; ++i) deep += "{\"children\": [";
  deep += "{\"class\": \"a\"}";
  for (int i = 0; i < 30000; ++i) deep += "]}";
  deep += "}";
  std::string p = with_tree(deep);
  std::string m = strata::testing::bad_input_message([&] { HierarchicalClassifier::load(p); });
  EXPECT_NE(m.find(p + ": embedded label tree: the tree is deeper than the limit of 10000 levels"), std::string::npos)
      << m;
  p = with_tree("{\"classes\": [" + std::string(100000, '[') + "]}");
  m = strata::testing::bad_input_message([&] { HierarchicalClassifier::load(p); });
  EXPECT_NE(m.find(p + ": embedded label tree"), std::string::npos) << m;
  EXPECT_LT(m.size(), p.size() + 300);
  std::remove(path.c_str());
  std::remove(p.c_str());
}

TEST(Hierarchical, MismatchesAreBadInput) {
  data::Dataset ds = circle_data(3, 10, 11);
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  std::vector<float> p(3);
  try {
    h.predict_proba(ds.x.data(), 1, 2, p.data());
    ADD_FAILURE() << "predicted before fit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
  }
  EXPECT_THROW(h.fit(ds, LabelTree::flat(names(4))), Error);
  h.fit(ds, LabelTree::flat(ds.classes));
  std::vector<float> x3(3, 0.f);
  try {
    h.predict_proba(x3.data(), 1, 3, p.data());
    ADD_FAILURE() << "wrong feature count accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
  }
}

// A centroid learner that counts its fits and requests cancellation once it is fitted, and never checks for
// cancellation itself: the first node model finishes, then the classifier must stop before the next.
class CancellingCentroid : public CentroidSoftmax {
 public:
  CancellingCentroid(ProgressSink& sink, int& fits) : sink_(sink), fits_(fits) {}
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) override {
    CentroidSoftmax::fit(x, n, d, y, n_classes);
    ++fits_;
    sink_.request_cancel();
  }
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes,
           ProgressSink* /*progress*/) override {
    fit(x, n, d, y, n_classes);
  }

 private:
  ProgressSink& sink_;
  int& fits_;
};

TEST(Hierarchical, CancelStopsBetweenNodeModelsAndLeavesItUnfitted) {
  data::Dataset ds = circle_data(6, 20, 8);
  const LabelTree tree = LabelTree::from_groups({0, 0, 1, 1, 2, 2}, ds.classes);  // root + 3 group models
  HierarchicalClassifier h(HierarchicalConfig{}, centroid_factory());
  h.fit(ds, tree);
  ASSERT_EQ(h.num_node_models(), 4);
  ProgressSink sink;
  int fits = 0;
  HierarchicalClassifier c(HierarchicalConfig{},
                           [&](const LearnerConfig&) { return std::make_unique<CancellingCentroid>(sink, fits); });
  EXPECT_THROW(c.fit(ds, tree, &sink), Cancelled);
  EXPECT_EQ(fits, 1);
  EXPECT_FALSE(c.fitted());
  EXPECT_EQ(c.num_node_models(), 0);
  // Refitting a fitted classifier and cancelling it leaves it unfitted too.
  EXPECT_THROW(h.fit(ds, tree, &sink), Cancelled);
  EXPECT_FALSE(h.fitted());
  EXPECT_EQ(h.num_node_models(), 0);
  std::vector<float> p(ds.n * 6);
  EXPECT_THROW(h.predict_proba(ds.x.data(), ds.n, ds.d, p.data()), Error);
}

TEST(Hierarchical, CancelReachesTheForestOfANode) {
  data::Dataset ds = circle_data(4, 200, 9);
  HierarchicalConfig cfg;
  cfg.learner.forest.n_trees = 50000;  // far more than 50 ms can grow
  cfg.threads = 2;
  HierarchicalClassifier h(cfg);
  ProgressSink sink;
  {
    CancelLater canceller(sink, 50);
    EXPECT_THROW(h.fit(ds, LabelTree::flat(ds.classes), &sink), Cancelled);
  }
  EXPECT_FALSE(h.fitted());
}

}  // namespace
}  // namespace strata::hier
