// EncoderLayer: slab layout under HF names, finite-difference gradients (with padding and dropout on), recompute
// determinism of the keyed dropout, accumulation of gradients, and the saved/workspace byte counts it declares.
#include "strata/nn/encoder_layer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "layer_test_util.h"
#include "strata/core/error.h"

namespace strata::nn {
namespace {

using testing::Probe;

constexpr int kB = 2, kT = 5, kC = 8, kNH = 2, kI = 16;

EncoderLayerConfig small_config(float dropout) { return EncoderLayerConfig{kC, kNH, kI, dropout, dropout, 1e-12f}; }

std::vector<float> layer_params(const Layer& l, std::uint64_t seed) {
  std::vector<float> p = testing::random_vector(l.param_floats(), seed, 0.3);
  for (const ParamSpec& s : l.params())
    if (s.name.find("LayerNorm.weight") != std::string::npos)
      for (std::size_t i = 0; i < s.numel(); ++i) p[s.offset + i] += 1.0f;
  return p;
}

struct Fixture {
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu", backend::BackendOptions{2});
  std::vector<float> mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};  // (B, T): second sequence has 3 tokens
  Ctx ctx(bool training) {
    Ctx c;
    c.be = be.get();
    c.seed = 17;
    c.step = 3;
    c.layer_index = 2;
    c.micro_batch = 1;
    c.training = training;
    return c;
  }
  Activation act() {
    Activation a;
    a.B = kB;
    a.T = kT;
    a.key_mask = mask.data();
    return a;
  }
};

TEST(EncoderLayer, SlabHoldsHuggingFaceTensorsPacked) {
  EncoderLayer l(small_config(0.0f));
  ASSERT_EQ(l.params().size(), 16u);
  EXPECT_EQ(l.params()[0].name, "attention.self.query.weight");
  EXPECT_EQ(l.params()[7].name, "attention.output.dense.bias");
  EXPECT_EQ(l.params()[10].name, "intermediate.dense.weight");
  EXPECT_EQ(l.params()[10].shape, (std::vector<std::int64_t>{kI, kC}));
  EXPECT_EQ(l.params()[15].name, "output.LayerNorm.bias");
  std::size_t off = 0;
  for (const ParamSpec& s : l.params()) {
    EXPECT_EQ(s.offset, off) << s.name;
    off += s.numel();
  }
  EXPECT_EQ(l.param_floats(), off);
  EXPECT_EQ(off, static_cast<std::size_t>(4 * (kC * kC + kC) + 4 * kC + 2 * kC * kI + kI + kC));
}

TEST(EncoderLayer, RejectsHiddenNotDivisibleByHeads) {
  try {
    EncoderLayer l(EncoderLayerConfig{10, 3, 40});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("10"), std::string::npos) << e.what();
  }
}

void check_gradients(float dropout) {
  Fixture f;
  EncoderLayer l(small_config(dropout));
  Probe p(l, f.ctx(dropout > 0), f.act(), kC, 5);
  p.params = layer_params(l, 9);
  std::vector<float> dparams, din;
  p.gradients(dparams, &din);
  testing::expect_matches_finite_differences(p, p.params, dparams, "dparams");
  testing::expect_matches_finite_differences(p, p.x, din, "din");
  EXPECT_TRUE(p.saved.guard_intact());
  EXPECT_TRUE(p.ws.guard_intact());
}

TEST(EncoderLayer, GradientsMatchFiniteDifferences) { check_gradients(0.0f); }
TEST(EncoderLayer, GradientsMatchFiniteDifferencesWithDropout) { check_gradients(0.2f); }

TEST(EncoderLayer, RecomputeIsBitIdenticalAndKeyedByMicroBatch) {
  Fixture f;
  EncoderLayer l(small_config(0.3f));
  Probe p(l, f.ctx(true), f.act(), kC, 5);
  p.params = layer_params(l, 9);
  p.objective();
  const std::vector<float> first = p.out_x;
  const std::vector<unsigned char> saved(p.saved.bytes(), p.saved.bytes() + p.saved.size());
  p.saved.poison();
  p.ws.poison();
  p.objective();  // recompute, as L2L does before the backward
  EXPECT_EQ(std::memcmp(first.data(), p.out_x.data(), first.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(saved.data(), p.saved.bytes(), saved.size()), 0);
  p.ctx.micro_batch = 2;  // another micro-batch draws other masks
  p.objective();
  EXPECT_NE(std::memcmp(first.data(), p.out_x.data(), first.size() * sizeof(float)), 0);
  p.ctx.micro_batch = 1;
  p.ctx.training = false;  // evaluation: no dropout at all
  p.objective();
  EXPECT_NE(std::memcmp(first.data(), p.out_x.data(), first.size() * sizeof(float)), 0);
  for (float v : p.out_x) EXPECT_TRUE(std::isfinite(v));
}

TEST(EncoderLayer, CtxDropoutOverridesTheConfiguredProbabilities) {
  Fixture f;
  EncoderLayer l(small_config(0.3f));
  Probe p(l, f.ctx(false), f.act(), kC, 5);
  p.params = layer_params(l, 9);
  p.objective();
  const std::vector<float> eval = p.out_x;
  p.ctx.training = true;
  p.ctx.dropout = 0.0f;  // training with dropout forced off: the evaluation output
  p.objective();
  EXPECT_EQ(p.out_x, eval);
  p.ctx.dropout = 0.3f;  // the configured value, given explicitly: same masks as the configuration's
  p.objective();
  const std::vector<float> explicit_p = p.out_x;
  p.ctx.dropout = -1.0f;
  p.objective();
  EXPECT_EQ(p.out_x, explicit_p);
  EXPECT_NE(p.out_x, eval);
}

TEST(EncoderLayer, BackwardAccumulatesIntoGradients) {
  Fixture f;
  EncoderLayer l(small_config(0.1f));
  Probe p(l, f.ctx(true), f.act(), kC, 6);
  p.params = layer_params(l, 10);
  std::vector<float> g1, d1;
  p.gradients(g1, &d1);
  std::vector<float> g2 = g1, d2 = d1;
  p.ws.poison();
  l.backward(p.ctx, p.params.data(), p.in, p.saved.data(), p.weights.data(), d2.data(), g2.data(), p.ws.data());
  for (std::size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 2 * g1[i], 1e-5f * (1 + std::abs(g1[i])));
  for (std::size_t i = 0; i < d1.size(); ++i) EXPECT_NEAR(d2[i], 2 * d1[i], 1e-5f * (1 + std::abs(d1[i])));
}

TEST(EncoderLayer, RunsWithinExactlyItsDeclaredDeviceBytes) {
  const int B = 3, T = 7;
  EncoderLayer l(small_config(0.1f));
  const std::size_t sb = l.saved_bytes(B, T), wb = l.workspace_bytes(B, T);
  // Saved holds at least q, k, v, attention output, probabilities, two residual sums, LN1 out, FFN in and out.
  EXPECT_GE(sb, sizeof(float) * (8u * B * T * kC + 2u * B * T * kI + std::size_t(B) * kNH * T * T));
  auto be = backend::make_backend("cpu", backend::BackendOptions{2, sb + wb});
  Buffer saved = be->alloc(Space::kDevice, sb, "saved");
  Buffer ws = be->alloc(Space::kDevice, wb, "workspace");
  EXPECT_EQ(be->memory().device().available(), 0u);
  std::vector<float> params = layer_params(l, 3), x = testing::random_vector(B * T * kC, 4), y(B * T * kC),
                     dy = testing::random_vector(B * T * kC, 5), dx(B * T * kC, 0.0f), dp(l.param_floats(), 0.0f);
  Ctx ctx;
  ctx.be = be.get();
  ctx.training = true;
  Activation in, out;
  in.B = out.B = B;
  in.T = out.T = T;
  in.x = x.data();
  out.x = y.data();
  l.forward(ctx, params.data(), in, out, saved.data(), ws.data());
  l.backward(ctx, params.data(), in, saved.data(), dy.data(), dx.data(), dp.data(), ws.data());
  for (float v : dx) ASSERT_TRUE(std::isfinite(v));
  // Guarded copies of the same sizes: nothing is written past the declared ends.
  testing::Guarded gs(sb), gw(wb);
  l.forward(ctx, params.data(), in, out, gs.data(), gw.data());
  l.backward(ctx, params.data(), in, gs.data(), dy.data(), dx.data(), dp.data(), gw.data());
  EXPECT_TRUE(gs.guard_intact());
  EXPECT_TRUE(gw.guard_intact());
}

}  // namespace
}  // namespace strata::nn
