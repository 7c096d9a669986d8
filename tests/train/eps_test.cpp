// The eager param-server on its own: eager updates per pushed layer (the others untouched and not pending),
// the clipping pass equal to the baseline's norm, bf16 copies written with the update, state round trips.
#include "strata/train/eps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strata/core/rng.h"

namespace strata::train {
namespace {

model::BertConfig config() {
  model::BertConfig c;
  c.vocab_size = 20;
  c.hidden_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 16;
  c.max_position_embeddings = 8;
  c.num_labels = 3;
  return c;
}

struct Rig {
  model::Bert model{config()};
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu");
  std::vector<float> p0;
  Rig() : p0(model.total_floats()) { model.init(p0.data(), 2); }
  void fill_grad(EagerParamServer& eps, int l, std::uint64_t seed) {
    Rng rng(seed);
    float* g = eps.grad_slab(l);
    for (std::size_t i = 0; i < model.slab_floats(l); ++i) g[i] = static_cast<float>(rng.normal());
  }
  std::vector<float> params(const EagerParamServer& eps) const {
    std::vector<float> p(model.total_floats());
    eps.read_state(p.data(), nullptr, nullptr);
    return p;
  }
};

TEST(EagerParamServer, UpdatesExactlyThePushedLayersWithTheOptimizer) {
  Rig r;
  EpsOptions o;
  o.optim.clip = 0.0;  // eager
  EagerParamServer eps(r.model, *r.be, o);
  EXPECT_TRUE(eps.eager());
  eps.write_state(r.p0.data(), nullptr, nullptr, 0);
  eps.begin_step(1e-2);
  r.fill_grad(eps, 1, 7);
  eps.push_grad(1, backend::Event());
  eps.wait_updated(1);
  EXPECT_TRUE(eps.updated(0));  // never pushed: nothing pending
  const std::vector<float> p = r.params(eps);
  // Layer 1 moved exactly as one AdamW step on the same slab; every other layer is untouched.
  std::vector<float> ref(r.p0.begin() + r.model.slab_offset(1),
                         r.p0.begin() + r.model.slab_offset(1) + r.model.slab_floats(1));
  std::vector<float> m(ref.size(), 0.0f), v(ref.size(), 0.0f);
  ThreadPool pool(1);
  optimizer_step(pool, o.optim, ref.data(), eps.grad_slab(1), m.data(), v.data(), ref.size(), 1e-2, 1);
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(p[r.model.slab_offset(1) + i], ref[i]) << i;
  for (int l : {0, 2, 3})
    for (std::size_t i = 0; i < r.model.slab_floats(l); ++i)
      ASSERT_EQ(p[r.model.slab_offset(l) + i], r.p0[r.model.slab_offset(l) + i]) << l;
  EXPECT_FALSE(eps.take_update_intervals().empty());
}

TEST(EagerParamServer, ClippingWaitsForEveryLayerAndMatchesTheGlobalNorm) {
  Rig r;
  EpsOptions o;
  o.optim.clip = 0.5;
  o.device_dtype = DType::kBF16;
  EagerParamServer eps(r.model, *r.be, o);
  EXPECT_FALSE(eps.eager());
  eps.write_state(r.p0.data(), nullptr, nullptr, 3);
  eps.begin_step(1e-3);
  const int L = r.model.num_layers();
  std::vector<GradSpan> spans;
  for (int l = L - 1; l >= 0; --l) {
    r.fill_grad(eps, l, 100 + l);
    eps.push_grad(l, backend::Event());
    if (l > 0) {
      EXPECT_FALSE(eps.updated(L - 1));  // nothing applied before every gradient is in
    }
  }
  for (int l = 0; l < L; ++l) spans.emplace_back(eps.grad_slab(l), r.model.slab_floats(l));
  bool applied = false;
  const double norm = eps.wait_grad_norm(&applied);
  EXPECT_TRUE(applied);
  ThreadPool pool(2);
  EXPECT_EQ(norm, global_grad_norm(pool, spans));
  eps.wait_all();
  EXPECT_EQ(eps.updates_done(), 4);
  // The bf16 copy the device fetches is the updated master weight rounded.
  const std::vector<float> p = r.params(eps);
  const auto* h = static_cast<const std::uint16_t*>(eps.fetch(2));
  EXPECT_EQ(eps.fetch_bytes(2), r.model.slab_floats(2) * 2);
  for (std::size_t i = 0; i < r.model.slab_floats(2); ++i)
    ASSERT_EQ(h[i], f32_to_bf16(p[r.model.slab_offset(2) + i])) << i;
  EXPECT_GT(eps.host_bytes(), 4 * r.model.total_floats() * sizeof(float));
}

TEST(EagerParamServer, ANonFiniteGradientSkipsTheClippedStep) {
  Rig r;
  EpsOptions o;
  EagerParamServer eps(r.model, *r.be, o);
  eps.write_state(r.p0.data(), nullptr, nullptr, 0);
  eps.begin_step(1e-2);
  for (int l = 0; l < r.model.num_layers(); ++l) {
    r.fill_grad(eps, l, l);
    if (l == 2) eps.grad_slab(l)[0] = NAN;
    eps.push_grad(l, backend::Event());
  }
  bool applied = true;
  EXPECT_TRUE(std::isnan(eps.wait_grad_norm(&applied)));
  EXPECT_FALSE(applied);
  EXPECT_EQ(r.params(eps), r.p0);
  EXPECT_EQ(eps.updates_done(), 0);
}

}  // namespace
}  // namespace strata::train
