// EmbeddingLayer: HF tensor names, finite-difference gradients of all tables and the LayerNorm (with dropout on),
// the padding row's frozen gradient, validation of token ids and lengths, and the declared byte counts.
#include "strata/nn/embedding_layer.h"

#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "strata/core/error.h"

namespace strata::nn {
namespace {

using testing::Probe;

constexpr int kB = 2, kT = 5, kC = 8, kV = 11, kP = 6, kS = 2;

EmbeddingConfig config(float dropout) { return EmbeddingConfig{kV, kC, kP, kS, 0, dropout, 1e-12f}; }

struct Inputs {
  std::vector<std::int32_t> ids = {1, 4, 0, 7, 10, 2, 2, 9, 0, 0};  // pad id 0 at real and padded positions
  std::vector<std::int32_t> segs = {0, 0, 1, 1, 1, 0, 1, 1, 0, 0};
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu", backend::BackendOptions{2});
  Activation act() {
    Activation a;
    a.B = kB;
    a.T = kT;
    a.ids = ids.data();
    a.segs = segs.data();
    return a;
  }
  Ctx ctx(bool training) {
    Ctx c;
    c.be = be.get();
    c.seed = 3;
    c.training = training;
    return c;
  }
};

std::vector<float> params_for(const Layer& l) {
  std::vector<float> p = testing::random_vector(l.param_floats(), 21, 0.5);
  const ParamSpec& lnw = l.params()[3];
  for (std::size_t i = 0; i < lnw.numel(); ++i) p[lnw.offset + i] += 1.0f;
  return p;
}

TEST(EmbeddingLayer, SlabHoldsHuggingFaceTensors) {
  EmbeddingLayer l(config(0.0f));
  ASSERT_EQ(l.params().size(), 5u);
  EXPECT_EQ(l.params()[0].name, "word_embeddings.weight");
  EXPECT_EQ(l.params()[1].name, "position_embeddings.weight");
  EXPECT_EQ(l.params()[2].name, "token_type_embeddings.weight");
  EXPECT_EQ(l.params()[3].name, "LayerNorm.weight");
  EXPECT_EQ(l.param_floats(), static_cast<std::size_t>((kV + kP + kS + 2) * kC));
}

void check_gradients(float dropout) {
  Inputs in;
  EmbeddingLayer l(config(dropout));
  Probe p(l, in.ctx(dropout > 0), in.act(), kC, 8);
  p.params = params_for(l);
  std::vector<float> dparams;
  p.gradients(dparams, nullptr);
  // The padding row never gets a gradient even though token 0 occurs (nn.Embedding padding_idx).
  for (int c = 0; c < kC; ++c) EXPECT_EQ(dparams[c], 0.0f);
  // Finite differences everywhere except the padding row (frozen: its gradient is deliberately not the derivative).
  testing::expect_matches_finite_differences(p, p.params, dparams, "dparams", 0, kC);
  EXPECT_TRUE(p.saved.guard_intact());
  EXPECT_TRUE(p.ws.guard_intact());
}

TEST(EmbeddingLayer, GradientsMatchFiniteDifferences) { check_gradients(0.0f); }
TEST(EmbeddingLayer, GradientsMatchFiniteDifferencesWithDropout) { check_gradients(0.25f); }

TEST(EmbeddingLayer, WithoutTokenTypesUsesSegmentZero) {
  Inputs in;
  EmbeddingLayer l(config(0.0f));
  Activation typed = in.act();
  std::fill(in.segs.begin(), in.segs.end(), 0);
  Probe a(l, in.ctx(false), typed, kC, 8);
  a.params = params_for(l);
  a.objective();
  Activation untyped = in.act();
  untyped.segs = nullptr;
  Probe b(l, in.ctx(false), untyped, kC, 8);
  b.params = params_for(l);
  b.objective();
  EXPECT_EQ(a.out_x, b.out_x);
}

TEST(EmbeddingLayer, RejectsOutOfRangeTokensAndLongSequences) {
  Inputs in;
  EmbeddingLayer l(config(0.0f));
  std::vector<float> params = params_for(l), out(kB * kT * kC);
  testing::Guarded saved(l.saved_bytes(kB, kT)), ws(l.workspace_bytes(kB, kT));
  auto expect_bad = [&](const Activation& a, const std::string& needle) {
    Activation o = a;
    o.x = out.data();
    try {
      l.forward(in.ctx(false), params.data(), a, o, saved.data(), ws.data());
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  in.ids[7] = kV;  // sequence 1, position 2
  expect_bad(in.act(), "token id 11 at sequence 1 position 2");
  in.ids[7] = 3;
  in.segs[4] = 2;
  expect_bad(in.act(), "token type id 2 at sequence 0 position 4");
  in.segs[4] = 0;
  std::vector<std::int32_t> long_ids(kP + 1, 1);
  Activation a;
  a.B = 1;
  a.T = kP + 1;
  a.ids = long_ids.data();
  expect_bad(a, "exceeds max_position_embeddings 6");
}

TEST(EmbeddingLayer, RunsWithinItsDeclaredBytes) {
  Inputs in;
  EmbeddingLayer l(config(0.1f));
  auto be = backend::make_backend("cpu", backend::BackendOptions{2, l.saved_bytes(kB, kT) + l.workspace_bytes(kB, kT)});
  Buffer saved = be->alloc(Space::kDevice, l.saved_bytes(kB, kT), "saved");
  Buffer ws = be->alloc(Space::kDevice, l.workspace_bytes(kB, kT), "workspace");
  std::vector<float> params = params_for(l), out(kB * kT * kC), dout = testing::random_vector(kB * kT * kC, 2),
                     dp(l.param_floats(), 0.0f);
  Ctx ctx = in.ctx(true);
  ctx.be = be.get();
  Activation a = in.act(), o = in.act();
  o.x = out.data();
  l.forward(ctx, params.data(), a, o, saved.data(), ws.data());
  l.backward(ctx, params.data(), a, saved.data(), dout.data(), nullptr, dp.data(), ws.data());
  double norm = 0;
  for (float g : dp) norm += std::abs(g);
  EXPECT_GT(norm, 0.0);
}

}  // namespace
}  // namespace strata::nn
