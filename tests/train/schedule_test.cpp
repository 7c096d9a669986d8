// LinearWarmupDecay against HF get_linear_schedule_with_warmup's values, and its argument checks.
#include "strata/train/schedule.h"

#include <gtest/gtest.h>

#include "strata/core/error.h"

namespace strata::train {
namespace {

TEST(LinearWarmupDecay, WarmsUpThenDecaysToZero) {
  LinearWarmupDecay s(1e-3, 100, 10);
  EXPECT_EQ(s.lr(0), 0.0);  // HF: the first step has rate 0 during warm-up
  EXPECT_DOUBLE_EQ(s.lr(5), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr(9), 9e-4);
  EXPECT_DOUBLE_EQ(s.lr(10), 1e-3);
  EXPECT_DOUBLE_EQ(s.lr(55), 1e-3 * 45.0 / 90.0);
  EXPECT_DOUBLE_EQ(s.lr(99), 1e-3 / 90.0);
  EXPECT_EQ(s.lr(100), 0.0);
  EXPECT_EQ(s.lr(150), 0.0);
  for (int k = 11; k < 100; ++k) EXPECT_LT(s.lr(k), s.lr(k - 1));
}

TEST(LinearWarmupDecay, NoWarmupAndFractions) {
  LinearWarmupDecay s(2.0, 4, 0);
  EXPECT_DOUBLE_EQ(s.lr(0), 2.0);
  EXPECT_DOUBLE_EQ(s.lr(1), 1.5);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.5);
  auto f = LinearWarmupDecay::with_warmup_fraction(1.0, 95, 0.1);
  EXPECT_EQ(f.warmup_steps(), 10);  // ceil(9.5), as HF warmup_ratio
  EXPECT_DOUBLE_EQ(f.lr(5), 0.5);
  auto all = LinearWarmupDecay::with_warmup_fraction(1.0, 10, 1.0);
  EXPECT_DOUBLE_EQ(all.lr(5), 0.5);
  EXPECT_EQ(all.lr(10), 0.0);
}

TEST(LinearWarmupDecay, RejectsBadArguments) {
  EXPECT_THROW(LinearWarmupDecay(1e-3, 0, 0), Error);
  EXPECT_THROW(LinearWarmupDecay(1e-3, 10, 11), Error);
  EXPECT_THROW(LinearWarmupDecay(-1.0, 10, 1), Error);
  EXPECT_THROW(LinearWarmupDecay::with_warmup_fraction(1.0, 10, 1.5), Error);
}

}  // namespace
}  // namespace strata::train
