// The L2L executor against the baseline: the same gradients and loss trajectory (dropout on, eager and clipped),
// device memory constant in depth, training under a budget the baseline cannot meet, the planner's minimum, bf16
// device storage, and inference.
#include "strata/train/l2l.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../common/error_matchers.h"
#include "../common/small_bert.h"
#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::train {
namespace {

model::BertConfig config(int layers, float dropout = 0.1f, int vocab = 60) {
  return testing::small_bert({.vocab = vocab,
                              .hidden = 32,
                              .layers = layers,
                              .heads = 4,
                              .intermediate = 64,
                              .positions = 16,
                              .labels = 4,
                              .dropout = dropout});
}

struct Data {
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  int B, T;
  Data(int B_, int T_, std::uint64_t seed, int vocab = 60)
      : ids(B_ * T_, 0), labels(B_), mask(B_ * T_, 0.0f), B(B_), T(T_) {
    Rng rng(seed);
    for (int b = 0; b < B; ++b) {
      const int len = 4 + static_cast<int>(rng.below(T - 3));
      for (int t = 0; t < len; ++t) {
        ids[b * T + t] = 1 + static_cast<int>(rng.below(vocab - 1));
        mask[b * T + t] = 1.0f;
      }
      labels[b] = ids[b * T] % 4;
    }
  }
  // Step s's batch: a rotation of the rows, so steps differ.
  model::Batch batch(int s, std::vector<std::int32_t>& ids_s, std::vector<float>& mask_s,
                     std::vector<std::int32_t>& labels_s) const {
    ids_s.resize(ids.size());
    mask_s.resize(mask.size());
    labels_s.resize(labels.size());
    for (int b = 0; b < B; ++b) {
      const int src = (b + s) % B;
      std::copy_n(ids.begin() + src * T, T, ids_s.begin() + b * T);
      std::copy_n(mask.begin() + src * T, T, mask_s.begin() + b * T);
      labels_s[b] = labels[src];
    }
    return model::Batch{B, T, ids_s.data(), nullptr, mask_s.data(), labels_s.data()};
  }
};

struct Rig {
  model::Bert model;
  std::unique_ptr<backend::Backend> be;
  std::unique_ptr<Executor> ex;
  Rig(const std::string& name, const model::BertConfig& cfg, const ExecutorOptions& o, std::size_t budget = 0,
      std::size_t stash_budget = 0)
      : model(cfg) {
    backend::BackendOptions bo;
    bo.threads = 2;
    bo.device_budget = budget;
    bo.stash_budget = stash_budget;
    be = backend::make_backend("cpu", bo);
    ex = make_executor(name, model, *be, o);
  }
  void init(int B, int T) {
    ex->prepare(B, T);
    std::vector<float> p(model.total_floats());
    model.init(p.data(), 5);
    ex->write_state(p.data(), nullptr, nullptr, 0, 0);
  }
  std::vector<float> grads() {
    std::vector<float> g(model.total_floats());
    ex->read_grads(g.data());
    return g;
  }
};

ExecutorOptions options(double clip, int micro = 4) {
  ExecutorOptions o;
  o.micro_batch = micro;
  o.seed = 21;
  o.optim.clip = clip;
  o.recompute = Recompute::kOn;  // the paper's schedule unless a test says otherwise
  return o;
}

// max |a - b| / max |b| per layer slab.
double worst_slab_error(const model::Bert& m, const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (int l = 0; l < m.num_layers(); ++l) {
    double d = 0.0, s = 0.0;
    for (std::size_t i = m.slab_offset(l); i < m.slab_offset(l) + m.slab_floats(l); ++i) {
      d = std::max(d, std::abs(double(a[i]) - b[i]));
      s = std::max(s, std::abs(double(b[i])));
    }
    worst = std::max(worst, s > 0 ? d / s : d);
  }
  return worst;
}

void expect_equivalent(double clip, const char* optimizer, Recompute recompute = Recompute::kOn) {
  const Data data(16, 12, 3);
  ExecutorOptions o = options(clip);
  o.optim.name = optimizer;
  o.recompute = recompute;
  Rig base("baseline", config(3), o), relay("l2l", config(3), o);
  base.init(16, 12);
  relay.init(16, 12);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  for (int s = 0; s < 20; ++s) {
    const model::Batch b = data.batch(s, ids, mask, labels);
    const StepStats x = base.ex->step(b, 2e-3), y = relay.ex->step(b, 2e-3);
    EXPECT_LE(std::abs(x.loss - y.loss), 1e-5 * x.loss) << optimizer << " clip " << clip << " step " << s;
    EXPECT_NEAR(x.grad_norm, y.grad_norm, 1e-6 * x.grad_norm) << "step " << s;
    if (s == 0) {
      EXPECT_LE(worst_slab_error(base.model, relay.grads(), base.grads()), 1e-6);
    }
  }
  std::vector<float> pa(base.model.total_floats()), pb(pa.size());
  base.ex->read_state(pa.data(), nullptr, nullptr);
  relay.ex->read_state(pb.data(), nullptr, nullptr);
  EXPECT_LE(worst_slab_error(base.model, pb, pa), 1e-5);
  EXPECT_EQ(relay.ex->stats().eager, clip <= 0);
  EXPECT_EQ(relay.ex->stats().recomputed_layers, recompute == Recompute::kOn ? relay.model.num_layers() : 0);
}

TEST(L2L, MatchesTheBaselineEagerWithAdamW) { expect_equivalent(0.0, "adamw"); }
TEST(L2L, MatchesTheBaselineWithGlobalClipping) { expect_equivalent(0.5, "adamw"); }
TEST(L2L, MatchesTheBaselineWithLamb) { expect_equivalent(0.0, "lamb"); }
TEST(L2L, MatchesTheBaselineWithoutRecompute) { expect_equivalent(0.0, "adamw", Recompute::kOff); }
TEST(L2L, MatchesTheBaselineWithoutRecomputeAndWithClipping) { expect_equivalent(0.5, "adamw", Recompute::kOff); }

TEST(L2L, DeviceMemoryIsConstantInDepthWhileTheBaselineGrows) {
  const Data data(16, 12, 4);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  const model::Batch b = data.batch(0, ids, mask, labels);
  std::vector<std::size_t> relay_peak, base_peak;
  for (int layers : {2, 4, 8, 16}) {
    for (const char* name : {"l2l", "baseline"}) {
      Rig r(name, config(layers), options(1.0));
      r.init(16, 12);
      r.be->memory().reset_peaks();
      r.ex->step(b, 1e-3);
      r.ex->step(b, 1e-3);
      (std::string(name) == "l2l" ? relay_peak : base_peak).push_back(r.be->memory().device().peak());
      EXPECT_LE(r.be->memory().device().peak(), r.ex->footprint(16, 12, 4)) << name << " " << layers;
    }
  }
  const auto [lo, hi] = std::minmax_element(relay_peak.begin(), relay_peak.end());
  EXPECT_LT(double(*hi - *lo) / double(*lo), 0.05);
  for (std::size_t i = 1; i < base_peak.size(); ++i) EXPECT_GT(base_peak[i], base_peak[i - 1] * 1.3);
  EXPECT_LT(relay_peak.back() * 3, base_peak.back());
}

TEST(L2L, TrainsUnderABudgetTheBaselineCannotMeet) {
  const Data data(16, 12, 5);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  Rig probe("l2l", config(12, 0.0f), options(1.0));
  const std::size_t budget = probe.ex->footprint(16, 12, 4);
  try {
    Rig base("baseline", config(12, 0.0f), options(1.0), budget);
    base.init(16, 12);
    FAIL() << "the baseline should not fit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kResource);
    EXPECT_HAS(e.what(), "smallest budget that works");
  }
  Rig relay("l2l", config(12, 0.0f), options(1.0), budget);
  relay.init(16, 12);
  const model::Batch b = data.batch(0, ids, mask, labels);
  const double first = relay.ex->step(b, 3e-3).loss;
  double last = first;
  for (int s = 0; s < 25; ++s) last = relay.ex->step(b, 3e-3).loss;
  EXPECT_LT(last, 0.7 * first);
  EXPECT_LE(relay.be->memory().device().peak(), budget);
}

TEST(L2L, ThePlannerNamesTheSmallestBudgetAndAutoPicksTheLargestMicroBatch) {
  for (const char* name : {"l2l", "baseline"}) {
    Rig probe(name, config(2), options(1.0));
    const std::size_t need4 = probe.ex->footprint(16, 12, 4), need16 = probe.ex->footprint(16, 12, 16);
    ASSERT_LT(need4, need16);
    try {
      Rig r(name, config(2), options(1.0), need4 - 1);
      r.init(16, 12);
      FAIL() << name << ": expected exit 3";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kResource);
      EXPECT_HAS(e.what(), std::to_string(need4) + " bytes");
    }
    Rig exact(name, config(2), options(1.0), need4);  // the minimum it names is enough
    exact.init(16, 12);
    Data data(16, 12, 6);
    std::vector<std::int32_t> ids, labels;
    std::vector<float> mask;
    exact.ex->step(data.batch(0, ids, mask, labels), 1e-3);
    Rig automatic(name, config(2), options(1.0, 0), need4 + (need16 - need4) / 2);
    EXPECT_EQ(automatic.ex->prepare(16, 12), 8) << name;  // 16 does not fit, 8 does
    EXPECT_HAS(testing::bad_input_message([&] {
                 Rig r(name, config(2), options(1.0, 5));
                 r.ex->prepare(16, 12);
               }),
               "1, 2, 4, 8, 16");
  }
}

TEST(L2L, Bf16DeviceStorageHalvesSlabTrafficAndStillTrains) {
  const Data data(16, 12, 7);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  ExecutorOptions o = options(1.0);
  Rig f32("l2l", config(4, 0.0f), o);
  o.device_dtype = DType::kBF16;
  Rig bf("l2l", config(4, 0.0f), o);
  f32.init(16, 12);
  bf.init(16, 12);
  f32.be->reset_traffic();
  bf.be->reset_traffic();
  double lf = 0, lb = 0, first = 0;
  for (int s = 0; s < 30; ++s) {
    const model::Batch b = data.batch(0, ids, mask, labels);
    lf = f32.ex->step(b, 3e-3).loss;
    lb = bf.ex->step(b, 3e-3).loss;
    if (s == 0) first = lf;
  }
  EXPECT_LT(lb, 0.7 * first);
  EXPECT_NEAR(lb, lf, 0.1 * lf);
  // Slabs and stashed activations travel at half size; output gradients stay fp32: about 0.63 here.
  EXPECT_LT(double(bf.be->bytes_to_device()), 0.7 * double(f32.be->bytes_to_device()));
  EXPECT_LT(bf.ex->footprint(16, 12, 4), f32.ex->footprint(16, 12, 4));
}

TEST(L2L, StashOnTheDeviceGivesTheSameResult) {
  const Data data(8, 12, 8);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  ExecutorOptions o = options(0.0);
  Rig host("l2l", config(2), o);
  o.stash = Space::kDevice;
  Rig dev("l2l", config(2), o);
  host.init(8, 12);
  dev.init(8, 12);
  const model::Batch b = data.batch(0, ids, mask, labels);
  EXPECT_EQ(host.ex->step(b, 1e-3).loss, dev.ex->step(b, 1e-3).loss);
  EXPECT_GT(host.be->memory().stash().peak(), 0u);
  EXPECT_EQ(dev.be->memory().stash().peak(), 0u);
  EXPECT_GT(dev.ex->footprint(8, 12, 4), host.ex->footprint(8, 12, 4));
}

TEST(L2L, StashingSavedActivationsInsteadOfRecomputingGivesTheSameResult) {
  const Data data(8, 12, 10);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  ExecutorOptions o = options(0.0);
  Rig re("l2l", config(3), o);
  o.recompute = Recompute::kOff;
  Rig st("l2l", config(3), o);
  re.init(8, 12);
  st.init(8, 12);
  for (int s = 0; s < 3; ++s) {
    const model::Batch b = data.batch(s, ids, mask, labels);
    EXPECT_EQ(re.ex->step(b, 1e-3).loss, st.ex->step(b, 1e-3).loss) << s;
  }
  EXPECT_EQ(re.grads(), st.grads());
  EXPECT_GT(st.ex->footprint(8, 12, 4), re.ex->footprint(8, 12, 4));  // a second saved buffer on the device
  EXPECT_LE(st.be->memory().device().peak(), st.ex->footprint(8, 12, 4));
  EXPECT_GT(st.be->memory().stash().peak(), 2 * re.be->memory().stash().peak());
}

// --recompute auto: stash the saved activations of as many layers as fit the stash budget (at the micro-batch full
// recompute gets), recompute the others, with the same losses as full recompute; a stash budget too small even for
// the layer outputs exits 3 naming the minimum, and that minimum works.
TEST(L2L, AutoRecomputeStashesTheSavedActivationsThatFit) {
  const Data data(8, 12, 11);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  ExecutorOptions o = options(0.0);
  std::size_t stash_on = 0, stash_off = 0;
  std::vector<double> losses_on;
  for (Recompute r : {Recompute::kOn, Recompute::kOff}) {
    o.recompute = r;
    Rig probe("l2l", config(3), o);
    probe.init(8, 12);
    for (int s = 0; s < 3; ++s) {
      const double loss = probe.ex->step(data.batch(s, ids, mask, labels), 1e-3).loss;
      if (r == Recompute::kOn) losses_on.push_back(loss);
    }
    (r == Recompute::kOn ? stash_on : stash_off) = probe.be->memory().stash().peak();
  }
  ASSERT_GT(stash_off, 2 * stash_on);
  o.recompute = Recompute::kAuto;
  const int L = model::Bert(config(3)).num_layers();
  auto recomputed = [&](std::size_t device_budget, std::size_t stash_budget) {
    Rig r("l2l", config(3), o, device_budget, stash_budget);
    r.init(8, 12);
    for (int s = 0; s < 3; ++s)
      EXPECT_EQ(r.ex->step(data.batch(s, ids, mask, labels), 1e-3).loss, losses_on[s]) << "step " << s;
    EXPECT_LE(r.be->memory().stash().peak(), stash_budget > 0 ? stash_budget : stash_off);
    return r.ex->stats().recomputed_layers;
  };
  EXPECT_EQ(recomputed(0, 0), 0);          // unlimited device, half the host's free memory: stash everything
  EXPECT_EQ(recomputed(0, stash_off), 0);  // exactly enough
  const int short_by_one = recomputed(0, stash_off - 1);
  EXPECT_GE(short_by_one, 1);  // one byte short: the smallest layers no longer fit
  EXPECT_LT(short_by_one, L);
  const int half = recomputed(0, stash_on + (stash_off - stash_on) / 2);
  EXPECT_GT(half, short_by_one);  // about half the encoder layers recompute
  EXPECT_LT(half, L - 1);
  EXPECT_EQ(recomputed(0, stash_on), L);  // the recompute stash alone
  {
    o.recompute = Recompute::kOn;
    Rig on("l2l", config(3), o);
    const std::size_t device_on = on.ex->footprint(8, 12, 4);
    o.recompute = Recompute::kAuto;
    EXPECT_EQ(recomputed(device_on, 0), L);  // the second saved buffer does not fit the device budget
  }
  for (Recompute r : {Recompute::kAuto, Recompute::kOn, Recompute::kOff}) {
    o.recompute = r;
    const std::size_t need = r == Recompute::kOff ? stash_off : stash_on;
    try {
      Rig small("l2l", config(3), o, 0, need - 1);
      small.init(8, 12);
      FAIL() << recompute_name(r) << ": expected exit 3";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kResource);
      EXPECT_HAS(e.what(), "--stash-memory");
      EXPECT_HAS(e.what(), std::to_string(need) + " bytes");
    }
  }
}

// The device gets only the word-table rows a batch reads (packed, ids remapped): with a vocabulary far larger than a
// batch's tokens L2L still matches the baseline (AdamW rows first; LAMB with clipping, whole layers), its device
// peak does not grow with the vocabulary while the baseline's does, and a token outside the vocabulary is named.
TEST(L2L, TheDeviceHoldsOnlyTheEmbeddingRowsABatchReads) {
  for (const char* optimizer : {"adamw", "lamb"}) {
    ExecutorOptions o = options(std::string(optimizer) == "lamb" ? 0.5 : 0.0);
    o.optim.name = optimizer;
    Rig base("baseline", config(2, 0.1f, 5000), o), relay("l2l", config(2, 0.1f, 5000), o);
    base.init(16, 12);
    relay.init(16, 12);
    std::vector<std::int32_t> ids, labels;
    std::vector<float> mask;
    for (int s = 0; s < 8; ++s) {
      const Data data(16, 12, 100 + s, 5000);  // a different set of rows every step
      const model::Batch b = data.batch(0, ids, mask, labels);
      const StepStats x = base.ex->step(b, 2e-3), y = relay.ex->step(b, 2e-3);
      EXPECT_LE(std::abs(x.loss - y.loss), 1e-5 * x.loss) << optimizer << " step " << s;
      if (s == 0) {
        EXPECT_LE(worst_slab_error(base.model, relay.grads(), base.grads()), 1e-6) << optimizer;
      }
    }
    std::vector<float> pa(base.model.total_floats()), pb(pa.size());
    base.ex->read_state(pa.data(), nullptr, nullptr);
    relay.ex->read_state(pb.data(), nullptr, nullptr);
    EXPECT_LE(worst_slab_error(base.model, pb, pa), 1e-5) << optimizer;
  }
  const Data small(16, 12, 13, 60), large(16, 12, 13, 5000);
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  std::size_t peak[2][2];  // [vocab 60, 5000][l2l, baseline]
  for (int v = 0; v < 2; ++v)
    for (int e = 0; e < 2; ++e) {
      Rig r(e == 0 ? "l2l" : "baseline", config(2, 0.1f, v == 0 ? 60 : 5000), options(0.0));
      r.init(16, 12);
      r.be->memory().reset_peaks();
      r.ex->step((v == 0 ? small : large).batch(0, ids, mask, labels), 1e-3);
      peak[v][e] = r.be->memory().device().peak();
    }
  EXPECT_EQ(peak[1][0], peak[0][0]);  // 192 tokens: the largest slab is an encoder layer either way
  EXPECT_EQ(peak[1][1], peak[0][1] + 4 * (5000 - 60) * 32 * sizeof(float));  // params, grads, m, v of the table
  Rig relay("l2l", config(2), options(0.0));
  relay.init(16, 12);
  model::Batch b = small.batch(0, ids, mask, labels);
  ids[1] = 600;
  EXPECT_HAS(testing::bad_input_message([&] { relay.ex->step(b, 1e-3); }),
             "token id 600 at sequence 0 position 1 is outside the vocabulary [0, 60)");
}

TEST(L2L, InferenceMatchesTheBaseline) {
  const Data data(10, 12, 9);
  ExecutorOptions o = options(1.0, 4);
  Rig base("baseline", config(3), o), relay("l2l", config(3), o);
  base.init(8, 12);
  relay.init(8, 12);
  std::vector<float> la(10 * 4), lb(10 * 4), pa(10 * 32), pb(10 * 32);
  const model::Batch b{10, 12, data.ids.data(), nullptr, data.mask.data(), nullptr};
  base.ex->infer(b, la.data(), pa.data());
  relay.ex->infer(b, lb.data(), pb.data());
  for (std::size_t i = 0; i < la.size(); ++i) EXPECT_NEAR(la[i], lb[i], 1e-5) << i;
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-5) << i;
}

}  // namespace
}  // namespace strata::train
