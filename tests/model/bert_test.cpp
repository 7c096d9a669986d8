// Bert: the layer-major slab layout, full HF names, HF initialisation, and the whole-model driver's behaviour with
// dropout (recompute determinism across runs, masks that change with the step).
#include "strata/model/bert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "../common/small_bert.h"
#include "strata/core/error.h"

namespace strata::model {
namespace {

BertConfig small_config() {
  BertConfig c = strata::testing::small_bert(
      {.hidden = 12, .layers = 3, .heads = 3, .intermediate = 20, .positions = 10, .labels = 4});
  c.initializer_range = 0.05f;
  return c;
}

TEST(Bert, SlabsAreLayerMajorAlignedAndNamedAsHuggingFace) {
  const Bert m(small_config());
  ASSERT_EQ(m.num_layers(), 5);
  EXPECT_EQ(m.layer(0).kind(), "embeddings");
  EXPECT_EQ(m.layer(2).kind(), "encoder");
  EXPECT_EQ(m.layer(4).kind(), "classifier_head");
  EXPECT_EQ(m.prefix(3), "bert.encoder.layer.2.");
  std::size_t end = 0;
  for (int i = 0; i < m.num_layers(); ++i) {
    EXPECT_EQ(m.slab_offset(i) % 16, 0u);
    EXPECT_GE(m.slab_offset(i), end);
    EXPECT_LT(m.slab_offset(i), end + 16);
    end = m.slab_offset(i) + m.slab_floats(i);
  }
  EXPECT_GE(m.total_floats(), end);
  std::set<std::string> names;
  for (const TensorInfo& t : m.tensors()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    EXPECT_GE(t.offset, m.slab_offset(t.layer));
    EXPECT_LE(t.offset + t.numel, m.slab_offset(t.layer) + m.slab_floats(t.layer));
  }
  for (const char* n :
       {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
        "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.bias",
        "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.2.attention.output.LayerNorm.weight",
        "bert.encoder.layer.1.intermediate.dense.bias", "bert.encoder.layer.2.output.dense.weight",
        "bert.pooler.dense.weight", "classifier.weight", "classifier.bias"})
    EXPECT_NE(m.find(n), nullptr) << n;
  EXPECT_EQ(m.find("bert.encoder.layer.3.output.dense.weight"), nullptr);
  EXPECT_EQ(m.find("classifier.weight")->shape, (std::vector<std::int64_t>{4, 12}));
  EXPECT_EQ(m.find("bert.encoder.layer.1.attention.self.key.weight")->layer, 2);
}

TEST(Bert, InitialisationFollowsHuggingFace) {
  BertConfig c = small_config();
  c.vocab_size = 400;  // enough samples for the statistics
  const Bert m(c);
  std::vector<float> p(m.total_floats(), 7.0f);
  m.init(p.data(), 42);
  for (const TensorInfo& t : m.tensors()) {
    const float* x = p.data() + t.offset;
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < t.numel; ++i) sum += x[i], sq += double(x[i]) * x[i];
    if (t.name.find("LayerNorm.weight") != std::string::npos) {
      EXPECT_EQ(sum, double(t.numel)) << t.name;
    } else if (t.name.ends_with(".bias")) {
      EXPECT_EQ(sq, 0.0) << t.name;
    } else if (t.numel >= 400) {
      const double sd = std::sqrt(sq / t.numel);
      EXPECT_NEAR(sd, c.initializer_range, 0.15 * c.initializer_range) << t.name;
      EXPECT_NEAR(sum / t.numel, 0.0, 0.2 * c.initializer_range) << t.name;
    }
  }
  const TensorInfo* wte = m.find("bert.embeddings.word_embeddings.weight");
  for (int i = 0; i < c.hidden_size; ++i) EXPECT_EQ(p[wte->offset + i], 0.0f);  // padding row
  // Gaps between slabs are zero; each slab initialises alone to the same values; another seed differs.
  for (int i = 0; i + 1 < m.num_layers(); ++i)
    for (std::size_t o = m.slab_offset(i) + m.slab_floats(i); o < m.slab_offset(i + 1); ++o) EXPECT_EQ(p[o], 0.0f);
  std::vector<float> slab(m.slab_floats(2));
  m.init_slab(2, slab.data(), 42);
  EXPECT_TRUE(std::equal(slab.begin(), slab.end(), p.begin() + m.slab_offset(2)));
  m.init_slab(2, slab.data(), 43);
  EXPECT_FALSE(std::equal(slab.begin(), slab.end(), p.begin() + m.slab_offset(2)));
}

TEST(Bert, RejectsHiddenNotDivisibleByHeads) {
  BertConfig c = small_config();
  c.num_attention_heads = 5;
  try {
    Bert m(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("num_attention_heads"), std::string::npos);
  }
}

TEST(Bert, DropoutRunsAreReproducibleAndKeyedByStep) {
  BertConfig c = small_config();
  c.hidden_dropout_prob = 0.2f;
  c.attention_probs_dropout_prob = 0.2f;
  const Bert m(c);
  std::vector<float> p(m.total_floats());
  m.init(p.data(), 1);
  auto be = backend::make_backend("cpu", backend::BackendOptions{2});
  const int B = 4, T = 6;
  std::vector<std::int32_t> ids(B * T), labels = {0, 1, 2, 3};
  for (int i = 0; i < B * T; ++i) ids[i] = 1 + (i * 7) % 39;
  std::vector<float> mask(B * T, 1.0f);
  mask[B * T - 1] = mask[B * T - 2] = 0.0f;
  const Batch batch{B, T, ids.data(), nullptr, mask.data(), labels.data()};
  FullModelRunner r(m, *be);
  nn::Ctx ctx;
  ctx.be = be.get();
  ctx.seed = 9;
  ctx.step = 1;
  ctx.training = true;
  std::vector<float> g1(m.total_floats(), 0.0f), g2(m.total_floats(), 0.0f), g3(m.total_floats(), 0.0f);
  const double l1 = r.run(p.data(), g1.data(), batch, ctx, 2);
  const double l2 = r.run(p.data(), g2.data(), batch, ctx, 2);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(g1, g2);
  ctx.step = 2;
  const double l3 = r.run(p.data(), g3.data(), batch, ctx, 2);
  EXPECT_NE(l1, l3);
  ctx.training = false;
  const double eval = r.run(p.data(), nullptr, batch, ctx, 1);
  EXPECT_NEAR(eval, std::log(4.0), 0.1);  // small init: near-uniform predictions
  EXPECT_EQ(r.logits().size(), static_cast<std::size_t>(B * c.num_labels));
}

}  // namespace
}  // namespace strata::model
