// The eager param-server on its own: eager updates per pushed layer (the others untouched and not pending),
// the clipping pass equal to the baseline's norm, bf16 copies written with the update, state round trips.
#include "strata/train/eps.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "../common/small_bert.h"
#include "strata/core/rng.h"

namespace strata::train {
namespace {

model::BertConfig config(int vocab = 20) {
  return testing::small_bert({.vocab = vocab, .hidden = 8, .intermediate = 16, .positions = 8});
}

struct Rig {
  model::Bert model;
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu");
  std::vector<float> p0;
  explicit Rig(int vocab = 20) : model(config(vocab)), p0(model.total_floats()) { model.init(p0.data(), 2); }
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

// Eager AdamW updates the word embeddings rows-first: when wait_rows() returns, the requested rows and the rest of
// layer 0 (fp32 master and bf16 copy) already hold exactly the whole-slab update; in the end every element does,
// each updated once. LAMB (trust ratio over the whole slab) and clipping keep whole-layer updates.
TEST(EagerParamServer, RowsFirstServesTheRequestedEmbeddingRowsWithTheWholeUpdate) {
  Rig r(30000);  // 4 chunks of rows: a request is served before most of the table
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    EpsOptions o;
    o.optim.clip = 0.0;
    o.device_dtype = dtype;
    EagerParamServer eps(r.model, *r.be, o);
    ASSERT_TRUE(eps.rows_first());
    ASSERT_EQ(eps.table_rows(), 30000u);
    ASSERT_EQ(eps.table_row_floats(), 8u);
    const std::size_t n = r.model.slab_floats(0), W = 8;
    std::vector<float> m(r.model.total_floats()), v(m.size());
    Rng rng(3);
    for (std::size_t i = 0; i < m.size(); ++i) {
      m[i] = 0.01f * static_cast<float>(rng.normal());
      v[i] = 1e-4f * static_cast<float>(rng.uniform());
    }
    eps.write_state(r.p0.data(), m.data(), v.data(), 3);
    eps.begin_step(1e-2);
    r.fill_grad(eps, 0, 9);
    std::vector<float> ref(r.p0.begin(), r.p0.begin() + n), rm(m.begin(), m.begin() + n), rv(v.begin(), v.begin() + n);
    ThreadPool pool(1);
    optimizer_step(pool, o.optim, ref.data(), eps.grad_slab(0), rm.data(), rv.data(), n, 1e-2, 4);
    auto gate = std::make_shared<backend::HostEvent>();  // the gradient "arrives" after wait_rows() asked
    eps.push_grad(0, backend::Event(gate));
    std::thread opener([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      gate->complete();
    });
    const std::vector<std::int32_t> rows{3, 15000, 29998, 29999};
    eps.wait_rows(rows);
    auto expect_at = [&](std::size_t i, const char* when) {
      if (dtype == DType::kF32) {
        ASSERT_EQ(static_cast<const float*>(eps.fetch(0))[i], ref[i]) << when << " " << i;
      } else {
        std::uint16_t want;
        f32_to_bf16(&ref[i], &want, 1);
        ASSERT_EQ(static_cast<const std::uint16_t*>(eps.fetch(0))[i], want) << when << " " << i;
      }
    };
    for (const std::int32_t row : rows)
      for (std::size_t j = 0; j < W; ++j) expect_at(row * W + j, "requested row");
    for (std::size_t i = 30000 * W; i < n; ++i) expect_at(i, "after the table");
    opener.join();
    eps.wait_all();
    for (std::size_t i = 0; i < n; ++i) expect_at(i, "in the end");
    std::vector<float> pm(m.size()), pv(m.size());
    eps.read_state(nullptr, pm.data(), pv.data());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(pm[i], rm[i]) << i;  // every element updated once
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(pv[i], rv[i]) << i;
  }
  for (double clip : {0.0, 1.0}) {
    EpsOptions o;
    o.optim.clip = clip;
    o.optim.name = clip > 0 ? "adamw" : "lamb";
    EXPECT_FALSE(EagerParamServer(r.model, *r.be, o).rows_first()) << o.optim.name << " clip " << clip;
  }
}

}  // namespace
}  // namespace strata::train
