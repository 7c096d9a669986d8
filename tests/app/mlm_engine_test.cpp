// Masked-LM pre-training under L2L (issue 14 must-show 2): the relay with the tied decoder streamed by vocabulary
// chunks gives the baseline's losses over 20 steps (every layer resident, the whole softmax at once), whatever the
// micro-batching, stash place or recompute choice; its device peak does not grow with the vocabulary (4 000 vs
// 30 522 words) while the baseline's does; the planner counts the decoder (the peak stays within the footprint, and
// a budget under it is an exit-3 error naming the minimum).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../common/error_matchers.h"
#include "../common/small_bert.h"
#include "strata/app/mlm_engine.h"
#include "strata/core/rng.h"
#include "strata/train/executor.h"

namespace strata::app {
namespace {

constexpr int kB = 8, kT = 12, kMask = 4;

model::BertConfig config(int vocab) {
  return testing::small_bert({.vocab = vocab,
                              .hidden = 32,
                              .layers = 2,
                              .heads = 2,
                              .intermediate = 64,
                              .positions = 16,
                              .labels = 1,
                              .dropout = 0.0f});
}

// Step s's batch: random tokens, about a fifth of the positions predicted (most shown as [MASK]), the last tokens
// of some rows padding.
struct Batch {
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  model::MlmBatch view() const { return {kB, kT, ids.data(), mask.data(), nullptr, labels.data()}; }
};

Batch make_batch(int vocab, std::uint64_t s) {
  Rng rng(1000 + s);
  Batch b;
  for (int r = 0; r < kB; ++r)
    for (int t = 0; t < kT; ++t) {
      const bool pad = t >= kT - (r % 3);
      std::int32_t id = pad ? 0 : 5 + static_cast<std::int32_t>(rng.uniform() * (vocab - 5));
      std::int32_t label = model::kIgnore;
      if (!pad && rng.uniform() < 0.2) {
        label = id;
        if (rng.uniform() < 0.8) id = kMask;
      }
      b.ids.push_back(id);
      b.labels.push_back(label);
      b.mask.push_back(pad ? 0.0f : 1.0f);
    }
  return b;
}

struct RunResult {
  std::vector<double> losses;
  MlmStepResult eval;
  std::vector<float> params;
  std::size_t peak = 0;
};

RunResult run(const model::BertMlm& model, MlmEngineOptions o, int steps) {
  o.seed = 3;
  o.threads = 2;
  o.optim.clip = 1.0;
  std::unique_ptr<MlmEngine> e = make_mlm_engine(model, o, kB, kT);
  std::vector<float> p(model.total_floats());
  model.init(p.data(), 9);
  e->write_state(p.data(), nullptr, nullptr, 0, 0);
  RunResult r;
  const int V = model.bert().config().vocab_size;
  for (int s = 0; s < steps; ++s) {
    const Batch b = make_batch(V, s);
    const MlmStepResult x = e->step(b.view(), s, 1e-3 * (1.0 - s / 40.0));
    r.losses.push_back(x.loss);
  }
  r.eval = e->evaluate(make_batch(V, 999).view());
  e->read_state(p.data(), nullptr, nullptr);
  r.params = p;
  r.peak = e->device_peak_bytes();
  return r;
}

MlmEngineOptions l2l(int micro_batch, const std::string& stash = "host") {
  MlmEngineOptions o;
  o.executor = "l2l";
  o.micro_batch = micro_batch;
  o.stash = stash;
  return o;
}

// Over the checkpoint's tensors (BertMlm's vector also carries an unused classifier slab).
double max_abs_diff(const model::BertMlm& model, const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0;
  for (const model::TensorInfo& t : model.tensors())
    for (std::size_t i = t.offset; i < t.offset + t.numel; ++i)
      d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d;
}

TEST(MlmEngine, L2LPreTrainingGivesTheBaselinesLossesOver20Steps) {
  const model::BertMlm model(config(97));  // 97 words: chunks of 64 and a partial one of 33
  const RunResult base = run(model, MlmEngineOptions{}, 20);
  for (const double l : base.losses) ASSERT_TRUE(std::isfinite(l));
  for (const auto& [name, opts] :
       {std::pair{"l2l, micro-batches of 2", l2l(2)}, std::pair{"l2l, one micro-batch", l2l(8)},
        std::pair{"l2l, stash on the device", l2l(4, "device")}}) {
    const RunResult relay = run(model, opts, 20);
    ASSERT_EQ(relay.losses.size(), base.losses.size());
    for (std::size_t s = 0; s < base.losses.size(); ++s)
      EXPECT_NEAR(relay.losses[s], base.losses[s], 1e-5) << name << ", step " << s;
    EXPECT_NEAR(relay.eval.loss, base.eval.loss, 1e-5) << name;
    EXPECT_EQ(relay.eval.predicted, base.eval.predicted) << name;
    EXPECT_EQ(relay.eval.correct, base.eval.correct) << name;
    EXPECT_LT(max_abs_diff(model, relay.params, base.params), 1e-4) << name << ": the weights after 20 steps";
  }
}

TEST(MlmEngine, Bf16RelayStaysCloseToTheBaseline) {
  const model::BertMlm model(config(97));
  const RunResult base = run(model, MlmEngineOptions{}, 10);
  MlmEngineOptions o = l2l(4);
  o.device_dtype = "bf16";
  const RunResult relay = run(model, o, 10);
  for (std::size_t s = 0; s < base.losses.size(); ++s)
    EXPECT_NEAR(relay.losses[s], base.losses[s], 2e-2) << "step " << s;
  EXPECT_GT(max_abs_diff(model, relay.params, base.params), 0.0) << "bf16 storage should round something";
}

// The relay's device memory for a step, measured and planned, at a vocabulary size.
struct Footprint {
  std::size_t peak = 0, planned = 0;
};

Footprint relay_footprint(int vocab) {
  const model::Bert bert(config(vocab), model::Head::kMaskedLm);
  auto be = backend::make_backend("cpu", backend::BackendOptions{2});
  train::ExecutorOptions eo;
  eo.micro_batch = 4;
  eo.recompute = train::Recompute::kOn;  // what the engine's planner falls back to under a tight budget
  auto ex = train::make_executor("l2l", bert, *be, eo);
  ex->prepare(kB, kT);
  std::vector<float> p(bert.total_floats());
  bert.init(p.data(), 1);
  ex->write_state(p.data(), nullptr, nullptr, 0, 0);
  be->memory().reset_peaks();
  for (int s = 0; s < 2; ++s) {
    const Batch b = make_batch(vocab, s);
    model::Batch mb{kB, kT, b.ids.data(), nullptr, b.mask.data(), nullptr, b.labels.data()};
    const train::StepStats st = ex->step(mb, 1e-3);
    EXPECT_GT(st.predicted, 0);
    EXPECT_TRUE(std::isfinite(st.loss));
  }
  return {be->memory().device().peak(), ex->footprint(kB, kT, 4)};
}

TEST(MlmEngine, RelayDevicePeakDoesNotGrowWithTheVocabulary) {
  const Footprint small = relay_footprint(4000), large = relay_footprint(30522);
  EXPECT_EQ(small.peak, large.peak) << "4 000 vs 30 522 words";
  EXPECT_EQ(small.planned, large.planned);
  EXPECT_LE(large.peak, large.planned) << "the planner counts every buffer the decoder uses";
  EXPECT_GT(large.peak, large.planned / 2) << "the plan is not a loose bound";
  // The baseline's grows: its logits and softmax span the vocabulary.
  const RunResult small_base = run(model::BertMlm(config(4000)), MlmEngineOptions{}, 1);
  const RunResult large_base = run(model::BertMlm(config(30522)), MlmEngineOptions{}, 1);
  EXPECT_GT(large_base.peak, 3 * small_base.peak);
  EXPECT_LT(large.peak * 4, large_base.peak);
}

TEST(MlmEngine, DeviceBudgetUnderTheRelaysPlanIsAResourceErrorNamingTheMinimum) {
  const model::BertMlm model(config(30522));
  const Footprint need = relay_footprint(30522);
  MlmEngineOptions o = l2l(4);
  o.device_memory = need.planned - 1;
  try {
    make_mlm_engine(model, o, kB, kT);
    ADD_FAILURE() << "a budget one byte under the plan should not fit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kResource) << e.what();
    EXPECT_HAS(e.what(), std::to_string(need.planned));
    EXPECT_HAS(e.what(), "MLM decoder");
  }
  o.device_memory = need.planned;
  EXPECT_NO_THROW(make_mlm_engine(model, o, kB, kT));
}

TEST(MlmEngine, ALabelOutsideTheVocabularyIsBadInput) {
  const model::BertMlm model(config(97));
  std::unique_ptr<MlmEngine> e = make_mlm_engine(model, l2l(4), kB, kT);
  Batch b = make_batch(97, 0);
  b.labels[5] = 97;
  const std::string msg = testing::bad_input_message([&] { e->step(b.view(), 0, 1e-3); });
  EXPECT_HAS(msg, "outside the vocabulary of 97");
}

}  // namespace
}  // namespace strata::app
