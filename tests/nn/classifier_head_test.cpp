// ClassifierHead: HF names, finite-difference gradients of the scaled mean cross-entropy (with dropout on), logits
// without labels, and the declared byte counts.
#include "strata/nn/classifier_head.h"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_util.h"
#include "strata/core/error.h"

namespace strata::nn {
namespace {

using testing::Probe;

constexpr int kB = 3, kT = 4, kC = 8, kK = 3;

struct Inputs {
  std::vector<std::int32_t> labels = {2, 0, 1};
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu", backend::BackendOptions{2});
  Activation act() {
    Activation a;
    a.B = kB;
    a.T = kT;
    a.labels = labels.data();
    return a;
  }
  Ctx ctx(bool training) {
    Ctx c;
    c.be = be.get();
    c.seed = 11;
    c.layer_index = 4;
    c.training = training;
    c.loss_scale = 1.0f / 6;  // e.g. this micro-batch is half of a batch of 6
    return c;
  }
};

TEST(ClassifierHead, SlabHoldsPoolerAndClassifier) {
  ClassifierHead h(ClassifierHeadConfig{kC, kK, 0.1f});
  ASSERT_EQ(h.params().size(), 4u);
  EXPECT_EQ(h.params()[0].name, "bert.pooler.dense.weight");
  EXPECT_EQ(h.params()[2].name, "classifier.weight");
  EXPECT_EQ(h.params()[2].shape, (std::vector<std::int64_t>{kK, kC}));
  EXPECT_EQ(h.param_floats(), static_cast<std::size_t>(kC * kC + kC + kK * kC + kK));
  EXPECT_EQ(h.width(), kK);
}

void check_gradients(float dropout) {
  Inputs in;
  ClassifierHead h(ClassifierHeadConfig{kC, kK, dropout});
  Probe p(h, in.ctx(dropout > 0), in.act(), kC, 4);
  p.params = testing::random_vector(h.param_floats(), 12, 0.5);
  std::vector<float> dparams, din;
  p.gradients(dparams, &din);
  testing::expect_matches_finite_differences(p, p.params, dparams, "dparams");
  testing::expect_matches_finite_differences(p, p.x, din, "din");
  // Only token 0 ([CLS]) of each sequence feeds the head.
  for (int b = 0; b < kB; ++b)
    for (int t = 1; t < kT; ++t)
      for (int c = 0; c < kC; ++c) EXPECT_EQ(din[(b * kT + t) * kC + c], 0.0f);
  EXPECT_TRUE(p.saved.guard_intact());
  EXPECT_TRUE(p.ws.guard_intact());
}

TEST(ClassifierHead, GradientsMatchFiniteDifferences) { check_gradients(0.0f); }
TEST(ClassifierHead, GradientsMatchFiniteDifferencesWithDropout) { check_gradients(0.3f); }

TEST(ClassifierHead, LossIsCrossEntropyOfTheLogits) {
  Inputs in;
  ClassifierHead h(ClassifierHeadConfig{kC, kK, 0.0f});
  Probe p(h, in.ctx(false), in.act(), kC, 4);
  p.params = testing::random_vector(h.param_floats(), 12, 0.5);
  p.objective();
  for (int b = 0; b < kB; ++b) {
    double z = 0;
    for (int k = 0; k < kK; ++k) z += std::exp(double(p.logits[b * kK + k]));
    EXPECT_NEAR(p.losses[b], std::log(z) - p.logits[b * kK + in.labels[b]], 1e-5);
  }
  // Without labels the head only writes logits.
  std::vector<float> logits(kB * kK, 0.0f);
  Activation a = in.act();
  a.labels = nullptr;
  a.x = p.x.data();
  Activation o = a;
  o.logits = logits.data();
  h.forward(p.ctx, p.params.data(), a, o, p.saved.data(), p.ws.data());
  EXPECT_EQ(logits, p.logits);
}

TEST(ClassifierHead, RunsWithinItsDeclaredBytes) {
  Inputs in;
  ClassifierHead h(ClassifierHeadConfig{kC, kK, 0.1f});
  const std::size_t sb = h.saved_bytes(kB, kT), wb = h.workspace_bytes(kB, kT);
  auto be = backend::make_backend("cpu", backend::BackendOptions{2, sb + wb});
  Buffer saved = be->alloc(Space::kDevice, sb, "saved");
  Buffer ws = be->alloc(Space::kDevice, wb, "workspace");
  std::vector<float> params = testing::random_vector(h.param_floats(), 1), x = testing::random_vector(kB * kT * kC, 2),
                     logits(kB * kK), losses(kB), dx(kB * kT * kC, 0.0f), dp(h.param_floats(), 0.0f);
  Ctx ctx = in.ctx(true);
  ctx.be = be.get();
  Activation a = in.act();
  a.x = x.data();
  Activation o = a;
  o.logits = logits.data();
  o.losses = losses.data();
  h.forward(ctx, params.data(), a, o, saved.data(), ws.data());
  h.backward(ctx, params.data(), a, saved.data(), nullptr, dx.data(), dp.data(), ws.data());
  for (float v : dx) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace strata::nn
