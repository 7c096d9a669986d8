// BERT masking: the 15 % / 80-10-10 proportions on a large batch, specials and padding never chosen, labels the
// original ids, and the same masks for the same (seed, key) and different ones otherwise.
#include "strata/data/mlm_masking.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace strata::data {
namespace {

constexpr int kB = 400, kT = 128, kVocab = 1000, kMask = 4;

struct Batch {
  std::vector<std::int32_t> ids = std::vector<std::int32_t>(kB * kT);
  std::vector<std::uint8_t> real = std::vector<std::uint8_t>(kB * kT, 1);
  Batch() {
    for (int r = 0; r < kB; ++r)
      for (int t = 0; t < kT; ++t) ids[r * kT + t] = t == 0 ? 2 : 5 + (r * 31 + t * 7) % (kVocab - 5);
    for (int r = 0; r < kB; r += 2)  // half the rows end at t = 100: [SEP] then padding
      for (int t = 100; t < kT; ++t) ids[r * kT + t] = t == 100 ? 3 : 0, real[r * kT + t] = t == 100;
  }
};

MaskingOptions opts() {
  MaskingOptions o;
  o.mask_id = kMask;
  o.vocab = kVocab;
  o.specials = {0, 2, 3};
  return o;
}

TEST(MlmMasking, FollowsBertsRecipe) {
  const Batch b;
  std::vector<std::int32_t> out(kB * kT), labels(kB * kT);
  mask_tokens(b.ids.data(), b.real.data(), kB, kT, opts(), 7, 1, out.data(), labels.data());
  int eligible = 0, chosen = 0, masked = 0, kept = 0, replaced = 0;
  for (int i = 0; i < kB * kT; ++i) {
    const bool special = b.ids[i] == 0 || b.ids[i] == 2 || b.ids[i] == 3;
    eligible += b.real[i] && !special;
    if (labels[i] == kIgnoreLabel) {
      EXPECT_EQ(out[i], b.ids[i]) << i;  // not chosen: untouched
      continue;
    }
    ASSERT_TRUE(b.real[i] && !special) << "position " << i << " (id " << b.ids[i] << ") must never be chosen";
    EXPECT_EQ(labels[i], b.ids[i]);
    ++chosen;
    if (out[i] == kMask) ++masked;
    else if (out[i] == b.ids[i]) ++kept;
    else ++replaced;
  }
  // ~44 800 eligible tokens: 15 % chosen (+- 0.5 %), of them 80/10/10 (+- 1.5 %).
  EXPECT_NEAR(static_cast<double>(chosen) / eligible, 0.15, 0.005);
  EXPECT_NEAR(static_cast<double>(masked) / chosen, 0.80, 0.015);
  EXPECT_NEAR(static_cast<double>(replaced) / chosen, 0.10, 0.015);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.10, 0.015);
}

TEST(MlmMasking, DeterministicForSeedAndKey) {
  const Batch b;
  auto run = [&](std::uint64_t seed, std::uint64_t key, int rows) {
    std::vector<std::int32_t> out(rows * kT), labels(rows * kT);
    mask_tokens(b.ids.data(), b.real.data(), rows, kT, opts(), seed, key, out.data(), labels.data());
    out.insert(out.end(), labels.begin(), labels.end());
    return out;
  };
  EXPECT_EQ(run(7, 1, 8), run(7, 1, 8));
  EXPECT_NE(run(7, 1, 8), run(7, 2, 8));
  EXPECT_NE(run(7, 1, 8), run(8, 1, 8));
  // A row's masks do not depend on how many rows the batch has.
  const auto four = run(7, 1, 4), eight = run(7, 1, 8);
  EXPECT_TRUE(std::equal(four.begin(), four.begin() + 4 * kT, eight.begin()));
}

TEST(MlmMasking, RejectsAMissingMaskToken) {
  const Batch b;
  MaskingOptions o = opts();
  o.mask_id = -1;
  std::vector<std::int32_t> out(kT), labels(kT);
  const std::string msg = testing::bad_input_message(
      [&] { mask_tokens(b.ids.data(), b.real.data(), 1, kT, o, 1, 1, out.data(), labels.data()); });
  EXPECT_NE(msg.find("[MASK]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace strata::data
