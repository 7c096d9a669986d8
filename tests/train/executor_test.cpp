// The baseline executor: gradient accumulation over micro-batches equals one big batch, dropout determinism,
// device-memory accounting and budget, inference padding, non-finite steps, state round trips, FLOP counting.
#include "strata/train/executor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../common/error_matchers.h"
#include "../common/small_bert.h"
#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/train/optim.h"

namespace strata::train {
namespace {

model::BertConfig small_config(float dropout = 0.0f) { return testing::small_bert({.dropout = dropout}); }

// A padded batch of B rows of T tokens; the label is a function of the first real token (learnable).
struct TestBatch {
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  model::Batch batch;
  TestBatch(int B, int T, std::uint64_t seed) : ids(B * T, 0), labels(B), mask(B * T, 0.0f) {
    Rng rng(seed);
    for (int b = 0; b < B; ++b) {
      const int len = 3 + static_cast<int>(rng.below(T - 2));
      for (int t = 0; t < len; ++t) {
        ids[b * T + t] = 1 + static_cast<int>(rng.below(39));
        mask[b * T + t] = 1.0f;
      }
      labels[b] = ids[b * T] % 3;
    }
    batch = model::Batch{B, T, ids.data(), nullptr, mask.data(), labels.data()};
  }
};

struct Rig {
  model::Bert model;
  std::unique_ptr<backend::Backend> be;
  std::unique_ptr<Executor> ex;
  Rig(const model::BertConfig& cfg, ExecutorOptions o, std::size_t budget = 0) : model(cfg) {
    backend::BackendOptions bo;
    bo.threads = 2;
    bo.device_budget = budget;
    be = backend::make_backend("cpu", bo);
    ex = make_executor("baseline", model, *be, o);
    std::vector<float> p(model.total_floats());
    model.init(p.data(), 11);
    ex->write_state(p.data(), nullptr, nullptr, 0, 0);
  }
  std::vector<float> params() {
    std::vector<float> p(model.total_floats());
    ex->read_state(p.data(), nullptr, nullptr);
    return p;
  }
};

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0, s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::abs(double(a[i]) - b[i]));
    s = std::max(s, std::abs(double(b[i])));
  }
  return d / s;
}

TEST(Executor, DivisorsAreListedInOrderWithoutWalkingEveryNumber) {
  EXPECT_EQ(divisors_of(1), "1");
  EXPECT_EQ(divisors_of(12), "1, 2, 3, 4, 6, 12");
  EXPECT_EQ(divisors_of(49), "1, 7, 49");
  EXPECT_EQ(divisors_of(2147483647), "1, 2147483647");  // a prime near INT_MAX: sqrt(n) steps, no overflow
  EXPECT_EQ(divisors_of(1888888881), "1, 3, 11, 33, 103, 263, 309, 789, 1133, 2113, 2893, 3399, 6339, 8679, 23243, 27089, 69729, 81267, 217639, 297979, 555719, 652917, 893937, 1667157, 2394029, 6112909, 7182087, 18338727, 57239057, 171717171, 629629627, 1888888881");
}

TEST(BaselineExecutor, MicroBatchesAccumulateToTheWholeBatchStep) {
  TestBatch tb(8, 10, 1);
  ExecutorOptions one, four;
  one.micro_batch = 8;
  four.micro_batch = 2;
  one.optim.clip = four.optim.clip = 0.5;  // clipping active: the norm must match too
  Rig a(small_config(), one), b(small_config(), four);
  for (int s = 0; s < 3; ++s) {
    const StepStats sa = a.ex->step(tb.batch, 1e-2), sb = b.ex->step(tb.batch, 1e-2);
    EXPECT_NEAR(sa.loss, sb.loss, 1e-6 * sa.loss) << "step " << s;
    EXPECT_NEAR(sa.grad_norm, sb.grad_norm, 1e-5 * sa.grad_norm) << "step " << s;
    EXPECT_EQ(sa.tokens, 80u);
  }
  EXPECT_LT(max_rel_diff(a.params(), b.params()), 1e-5);
}

TEST(BaselineExecutor, LossFallsOnALearnableBatchWithAdamWAndLamb) {
  TestBatch tb(12, 8, 2);
  for (const char* opt : {"adamw", "lamb"}) {
    ExecutorOptions o;
    o.micro_batch = 4;
    o.optim.name = opt;
    Rig r(small_config(), o);
    const double lr = o.optim.name == "lamb" ? 5e-2 : 1e-2;  // LAMB's step is lr * ||p|| per layer
    const double first = r.ex->step(tb.batch, lr).loss;
    double last = first;
    for (int s = 0; s < 40; ++s) last = r.ex->step(tb.batch, lr).loss;
    EXPECT_LT(last, 0.5 * first) << opt;
    EXPECT_EQ(r.ex->steps_done(), 41);
    EXPECT_EQ(r.ex->updates_done(), 41);
  }
}

TEST(BaselineExecutor, DropoutIsDeterministicPerSeedAndStep) {
  TestBatch tb(4, 8, 3);
  ExecutorOptions o;
  o.micro_batch = 2;
  o.seed = 7;
  Rig a(small_config(0.3f), o), b(small_config(0.3f), o);
  o.seed = 8;
  Rig c(small_config(0.3f), o);
  const double la = a.ex->step(tb.batch, 1e-3).loss, lb = b.ex->step(tb.batch, 1e-3).loss;
  const double lc = c.ex->step(tb.batch, 1e-3).loss;
  EXPECT_EQ(la, lb);
  EXPECT_NE(la, lc);
  EXPECT_EQ(a.params(), b.params());
  // Dropout is off at inference: identical logits whatever the seed.
  std::vector<float> la_log(4 * 3), lc_log(4 * 3);
  Rig d(small_config(0.3f), o);
  o.seed = 1234;
  Rig e(small_config(0.3f), o);
  d.ex->infer(tb.batch, la_log.data(), nullptr);
  e.ex->infer(tb.batch, lc_log.data(), nullptr);
  EXPECT_EQ(la_log, lc_log);
}

TEST(BaselineExecutor, InferenceOfAnyBatchSizeMatchesRowByRow) {
  TestBatch tb(7, 9, 4);  // 7 rows in micro-batches of 3: the last chunk is padded
  ExecutorOptions o3, o1;
  o3.micro_batch = 3;
  o1.micro_batch = 1;
  o3.inference_only = o1.inference_only = true;
  Rig a(small_config(), o3), b(small_config(), o1);
  const int K = 3, C = 16;
  std::vector<float> la(7 * K), lb(7 * K), pa(7 * C), pb(7 * C);
  a.ex->infer(tb.batch, la.data(), pa.data());
  b.ex->infer(tb.batch, lb.data(), pb.data());
  EXPECT_LT(max_rel_diff(la, lb), 1e-5);
  EXPECT_LT(max_rel_diff(pa, pb), 1e-5);
  for (float x : pa) EXPECT_LE(std::abs(x), 1.0f);  // tanh pooler output
  EXPECT_THROW(a.ex->step(tb.batch, 1e-3), Error);
}

TEST(BaselineExecutor, HoldsTheWholeModelOnTheDeviceAndRespectsTheBudget) {
  TestBatch tb(4, 8, 5);
  ExecutorOptions o;
  o.micro_batch = 4;
  Rig r(small_config(), o);
  r.ex->step(tb.batch, 1e-3);
  const std::size_t state = 4 * r.model.total_floats() * sizeof(float);  // params, grads, m, v
  EXPECT_GE(r.be->memory().device().peak(), state);
  EXPECT_LT(r.be->memory().device().peak(), state + (1u << 20));
  EXPECT_GT(r.be->bytes_to_device(), 0u);

  // A budget below the parameter state fails at construction with exit code 3, naming the budget.
  try {
    Rig small(small_config(), o, state / 2);
    FAIL() << "expected a resource error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kResource);
    EXPECT_HAS(e.what(), "device memory budget");
  }
  // A budget that holds the state but not the activations fails at the first step.
  Rig tight(small_config(), o, state + 1024);
  EXPECT_THROW(tight.ex->step(tb.batch, 1e-3), Error);
}

TEST(BaselineExecutor, ANonFiniteGradientSkipsTheUpdate) {
  TestBatch tb(4, 8, 6);
  ExecutorOptions o;
  o.micro_batch = 4;
  Rig r(small_config(), o);
  std::vector<float> p = r.params();
  const model::TensorInfo* t = r.model.find("classifier.weight");
  ASSERT_NE(t, nullptr);
  p[t->offset] = std::numeric_limits<float>::infinity();
  r.ex->write_state(p.data(), nullptr, nullptr, 5, 5);
  const StepStats st = r.ex->step(tb.batch, 1e-3);
  EXPECT_FALSE(st.updated);
  EXPECT_EQ(st.step, 5);
  EXPECT_EQ(r.ex->steps_done(), 6);
  EXPECT_EQ(r.ex->updates_done(), 5);
  std::vector<float> after = r.params();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::isfinite(p[i])) {
      ASSERT_EQ(after[i], p[i]) << i;
    }
}

TEST(BaselineExecutor, StateRoundTripsAndABadOptionIsBadInput) {
  TestBatch tb(4, 8, 7);
  ExecutorOptions o;
  o.micro_batch = 2;
  Rig a(small_config(), o);
  a.ex->step(tb.batch, 1e-2);
  const std::size_t n = a.model.total_floats();
  std::vector<float> p(n), m(n), v(n);
  a.ex->read_state(p.data(), m.data(), v.data());
  Rig b(small_config(), o);
  b.ex->write_state(p.data(), m.data(), v.data(), a.ex->steps_done(), a.ex->updates_done());
  EXPECT_EQ(a.ex->step(tb.batch, 1e-2).loss, b.ex->step(tb.batch, 1e-2).loss);
  EXPECT_EQ(a.params(), b.params());

  TestBatch odd(5, 8, 8);
  EXPECT_HAS(strata::testing::bad_input_message([&] { a.ex->step(odd.batch, 1e-2); }),
             "does not divide the batch of 5; values that do: 1, 5");
  ExecutorOptions bad = o;
  bad.optim.name = "sgd";
  EXPECT_HAS(strata::testing::bad_input_message([&] { Rig r(small_config(), bad); }), "adamw or lamb");
  model::Bert bert(small_config());
  auto be = backend::make_backend("cpu");
  EXPECT_HAS(strata::testing::bad_input_message([&] { make_executor("pipeline", bert, *be, o); }), "baseline");
}

TEST(Flops, CountSixTimesNonEmbeddingParametersPerTokenPlusAttention) {
  model::Bert m(small_config());
  // Encoder layer (C 16, I 32): 4 (C*C + C) + 2 LN (2C) + (C*I + I) + (I*C + C) = 1088 + 64 + 544 + 528 = 2224;
  // embeddings LayerNorm 32; pooler 272; classifier 3*16 + 3 = 51.
  const std::size_t expect = 2 * 2224 + 32 + 272 + 51;
  EXPECT_EQ(non_embedding_params(m), expect);
  EXPECT_DOUBLE_EQ(train_step_flops(m, 4, 8), 6.0 * expect * 32 + 2 * 12.0 * 4 * 8 * 8 * 16);
}

}  // namespace
}  // namespace strata::train
