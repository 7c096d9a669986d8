// The TrainOptions field table: every saved field survives JSON out and in, run-only fields are never saved, wrong
// types and out-of-range integers are bad input naming the field, and the resume rules come from the same table.
#include "strata/app/train_options.h"

#include <gtest/gtest.h>

#include "../common/error_matchers.h"

namespace strata::app {
namespace {

// Options with every field changed from its default.
TrainOptions all_changed() {
  TrainOptions o;
  o.data = "synthetic:vocab=9";
  o.model = "tiny";
  o.layers = 3;
  o.executor = "l2l";
  o.backend = "cuda";
  o.stash = "device";
  o.device_dtype = "bf16";
  o.eps_threads = 5;
  o.shard_optimizer = true;
  o.recompute = "on";
  o.stash_memory = std::size_t{1} << 40;
  o.batch = 48;
  o.micro_batch = 6;
  o.seq_len = 17;
  o.steps = 123456789012;
  o.epochs = 2.5;
  o.lr = 1.25e-4;
  o.warmup = 0.3;
  o.weight_decay = 0.2;
  o.clip = 0.5;
  o.optimizer = "lamb";
  o.dropout = 0.25f;
  o.threads = 7;
  o.device_memory = 999;
  o.seed = ~std::uint64_t{0};
  o.tokenizer = "t.model";
  o.vocab_size = 77;
  o.save = "s";
  o.resume = "r";
  o.log = "l";
  o.report = "p";
  o.save_every = 4;
  o.stop_at = 9;
  o.quiet = true;
  return o;
}

TEST(TrainOptions, EverySavedFieldRoundTripsAndRunFieldsAreNotSaved) {
  const TrainOptions o = all_changed();
  const nlohmann::json j = to_json(o);
  const TrainOptions back = train_options_from_json(j, TrainOptions{});
  EXPECT_EQ(to_json(back), j);
  std::size_t saved = 0;
  for (const FieldInfo& f : train_option_fields()) {
    EXPECT_EQ(j.contains(f.name), f.on_resume != OnResume::kRun) << f.name;
    saved += f.on_resume != OnResume::kRun;
  }
  EXPECT_EQ(j.size(), saved);
  // The run-only fields come from the base, never from the JSON.
  EXPECT_EQ(back.save, "");
  EXPECT_FALSE(back.quiet);
  EXPECT_EQ(back.seed, ~std::uint64_t{0});
  EXPECT_EQ(back.steps, 123456789012);
  EXPECT_EQ(back.stash_memory, std::size_t{1} << 40);
  // Absent fields keep the base's values.
  EXPECT_EQ(train_options_from_json(nlohmann::json::object(), o).lr, o.lr);
}

TEST(TrainOptions, CopyFieldsCopiesWhatThePredicatePicks) {
  const TrainOptions from = all_changed();
  TrainOptions to;
  copy_fields(from, to, [](const std::string& name, OnResume r) { return r == OnResume::kRun || name == "lr"; });
  EXPECT_EQ(to.save, "s");
  EXPECT_EQ(to.stop_at, 9);
  EXPECT_TRUE(to.quiet);
  EXPECT_EQ(to.lr, from.lr);
  EXPECT_EQ(to.batch, TrainOptions{}.batch);
  EXPECT_EQ(to.data, "");
}

TEST(TrainOptions, WrongTypesAndOutOfRangeIntegersNameTheField) {
  EXPECT_HAS(testing::bad_input_message([] { train_options_from_json({{"seq-len", "64"}}, {}); }), "'seq-len'");
  EXPECT_HAS(testing::bad_input_message([] { train_options_from_json({{"lr", "fast"}}, {}); }), "'lr' must be");
  EXPECT_HAS(testing::bad_input_message([] { train_options_from_json({{"batch", 1e12}}, {}); }), "'batch'");
  EXPECT_HAS(testing::bad_input_message([] {
               train_options_from_json({{"batch", 4294967296LL}}, {});
             }),
             "'batch' must be an integer in range");
  EXPECT_HAS(testing::bad_input_message([] { train_options_from_json({{"seed", -1}}, {}); }), "'seed'");
  EXPECT_HAS(testing::bad_input_message([] { train_options_from_json("options", {}); }), "JSON object");
  // Checkpoints from before --recompute auto stored a boolean.
  EXPECT_EQ(train_options_from_json({{"recompute", false}}, {}).recompute, "off");
  EXPECT_EQ(train_options_from_json({{"recompute", true}}, {}).recompute, "on");
}

TEST(TrainOptions, ResumeRulesComeFromTheTable) {
  for (const char* free : {"threads", "device-memory", "executor", "micro-batch", "steps", "save", "stop-at"})
    EXPECT_TRUE(free_on_resume(free)) << free;
  for (const char* fixed : {"lr", "batch", "seed", "model", "seq-len", "optimizer", "device-dtype"})
    EXPECT_FALSE(free_on_resume(fixed)) << fixed;
  EXPECT_FALSE(free_on_resume("no-such-flag"));
  const std::string list = free_on_resume_list();
  EXPECT_NE(list.find("--threads"), std::string::npos);
  EXPECT_EQ(list.find("--lr"), std::string::npos);
}

}  // namespace
}  // namespace strata::app
