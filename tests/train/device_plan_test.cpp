// The planner and the allocation agree: for the L2L and the baseline executor, across depths, micro-batches (given,
// auto, auto under a budget), f32/bf16 device storage, --stash host/device and --recompute on/off/auto, the bytes
// footprint() plans for a step are exactly the device arena's peak over preparing and running that step.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../common/small_bert.h"
#include "strata/core/rng.h"
#include "strata/train/executor.h"

namespace strata::train {
namespace {

constexpr int kB = 8, kT = 12;

model::BertConfig config(int layers) {
  return testing::small_bert({.vocab = 200,
                              .hidden = 32,
                              .layers = layers,
                              .heads = 4,
                              .intermediate = 64,
                              .positions = 16,
                              .labels = 4,
                              .dropout = 0.1f});
}

// A batch of kB x kT with random tokens (fewer distinct word rows than the vocabulary) and some padding.
struct Batch {
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  Batch() : ids(kB * kT, 0), labels(kB), mask(kB * kT, 0.0f) {
    Rng rng(17);
    for (int b = 0; b < kB; ++b) {
      const int len = 4 + static_cast<int>(rng.below(kT - 3));
      for (int t = 0; t < len; ++t) {
        ids[b * kT + t] = 1 + static_cast<int>(rng.below(199));
        mask[b * kT + t] = 1.0f;
      }
      labels[b] = static_cast<int>(rng.below(4));
    }
  }
  model::Batch view(bool with_labels = true) {
    return model::Batch{kB, kT, ids.data(), nullptr, mask.data(), with_labels ? labels.data() : nullptr};
  }
};

struct Case {
  std::string executor = "l2l";
  int layers = 2;
  int micro_batch = 4;  // 0: auto
  DType dtype = DType::kF32;
  Space stash = Space::kStash;
  Recompute recompute = Recompute::kOn;
  std::size_t device_budget = 0, stash_budget = 0;
  bool inference_only = false;

  std::string name() const {
    return executor + " layers " + std::to_string(layers) + " micro-batch " + std::to_string(micro_batch) +
           (dtype == DType::kBF16 ? " bf16" : " f32") + (stash == Space::kDevice ? " stash device" : " stash host") +
           " recompute " + recompute_name(recompute) + " device budget " + std::to_string(device_budget) +
           " stash budget " + std::to_string(stash_budget) + (inference_only ? " inference-only" : "");
  }
};

struct Outcome {
  std::size_t planned = 0, peak = 0, stash_peak = 0;
  int micro_batch = 0, recomputed = 0;
};

// A fresh backend, so the device peak covers everything the executor ever allocated: prepare, one training step
// (or, inference-only, one inference of logits).
Outcome run(const Case& c) {
  model::Bert model(config(c.layers));
  backend::BackendOptions bo;
  bo.threads = 2;
  bo.device_budget = c.device_budget;
  bo.stash_budget = c.stash_budget;
  auto be = backend::make_backend("cpu", bo);
  ExecutorOptions o;
  o.micro_batch = c.micro_batch;
  o.seed = 3;
  o.device_dtype = c.dtype;
  o.stash = c.stash;
  o.recompute = c.recompute;
  o.inference_only = c.inference_only;
  auto ex = make_executor(c.executor, model, *be, o);
  const int b = ex->prepare(kB, kT);
  std::vector<float> params(model.total_floats());
  model.init(params.data(), 5);
  ex->write_state(params.data(), nullptr, nullptr, 0, 0);
  Batch batch;
  if (c.inference_only) {
    std::vector<float> logits(kB * 4);
    ex->infer(batch.view(false), logits.data(), nullptr);
  } else {
    ex->step(batch.view(), 1e-3);
  }
  Outcome out;
  out.micro_batch = b;
  out.planned = ex->footprint(kB, kT, b);
  out.peak = be->memory().device().peak();
  out.stash_peak = be->memory().stash().peak();
  out.recomputed = ex->stats().recomputed_layers;
  EXPECT_EQ(ex->stats().micro_batch, b) << c.name();
  return out;
}

// The plan equals the peak; and a device budget of exactly the plan is enough for the same choice.
void expect_plan_is_peak(Case c) {
  const Outcome free = run(c);
  EXPECT_EQ(free.planned, free.peak) << c.name();
  if (c.device_budget == 0) {
    c.device_budget = free.planned;
    const Outcome exact = run(c);
    EXPECT_EQ(exact.micro_batch, free.micro_batch) << c.name();
    EXPECT_EQ(exact.planned, exact.peak) << c.name();
  }
}

TEST(DevicePlan, L2LPlannedBytesAreTheDevicePeak) {
  for (int layers : {1, 3})
    for (int micro_batch : {2, 8, 0})
      for (DType dtype : {DType::kF32, DType::kBF16})
        for (Space stash : {Space::kStash, Space::kDevice})
          for (Recompute recompute : {Recompute::kOn, Recompute::kOff, Recompute::kAuto})
            expect_plan_is_peak(
                {.layers = layers, .micro_batch = micro_batch, .dtype = dtype, .stash = stash, .recompute = recompute});
}

// Auto micro-batch under a device budget between two micro-batches' plans, and --recompute auto under a stash budget
// that holds only some layers' saved activations: the plan the planner chose is still the peak.
TEST(DevicePlan, L2LPlannedBytesAreTheDevicePeakWhenBudgetsShapeTheChoice) {
  const Case on{.layers = 3, .micro_batch = 0, .recompute = Recompute::kOn};
  const Outcome b8 = run(on);
  Case four = on;
  four.micro_batch = 4;
  const Outcome b4 = run(four);
  ASSERT_EQ(b8.micro_batch, kB);
  ASSERT_LT(b4.planned, b8.planned);
  Case squeezed = on;
  squeezed.device_budget = b4.planned + (b8.planned - b4.planned) / 2;
  EXPECT_EQ(run(squeezed).micro_batch, 4);
  expect_plan_is_peak(squeezed);

  Case off = four;
  off.recompute = Recompute::kOff;
  const Outcome all_stashed = run(off);
  Case partial = four;
  partial.recompute = Recompute::kAuto;
  partial.stash_budget = b4.stash_peak + (all_stashed.stash_peak - b4.stash_peak) / 2;
  const Outcome some = run(partial);
  EXPECT_GT(some.recomputed, 0);
  EXPECT_LT(some.recomputed, 5);  // 3 encoder layers, the embeddings and the head
  EXPECT_EQ(some.planned, some.peak);
}

TEST(DevicePlan, BaselinePlannedBytesAreTheDevicePeak) {
  for (int layers : {1, 3})
    for (int micro_batch : {2, 8, 0})
      for (bool inference_only : {false, true})
        expect_plan_is_peak(
            {.executor = "baseline", .layers = layers, .micro_batch = micro_batch, .inference_only = inference_only});
  const Outcome b8 = run({.executor = "baseline", .layers = 2, .micro_batch = 8});
  const Outcome b4 = run({.executor = "baseline", .layers = 2, .micro_batch = 4});
  const Case squeezed{.executor = "baseline",
                      .layers = 2,
                      .micro_batch = 0,
                      .device_budget = b4.planned + (b8.planned - b4.planned) / 2};
  EXPECT_EQ(run(squeezed).micro_batch, 4);
  expect_plan_is_peak(squeezed);
}

}  // namespace
}  // namespace strata::train
