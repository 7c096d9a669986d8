// The union-of-rows reduction of layer 0's gradient: the same sum as reducing the whole slab, over the rows some
// rank read, rows nobody read left zero.
#include "strata/train/row_union.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "../common/thread_ranks.h"

namespace strata::train {
namespace {

constexpr std::size_t kRows = 40, kC = 6, kRest = 13;

// Rank r read rows {r, r + 3, r + 6, ...} below 30 and row 35 (shared); its gradient is non-zero only there.
std::vector<std::int32_t> rows_of(int r) {
  std::vector<std::int32_t> rows;
  for (std::int32_t i = r; i < 30; i += 3 + r) rows.push_back(i);
  rows.push_back(35);
  return rows;
}

std::vector<float> slab_of(int r) {
  std::vector<float> s(kRows * kC + kRest, 0.0f);
  std::mt19937 gen(static_cast<unsigned>(r + 1));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const std::int32_t row : rows_of(r))
    for (std::size_t c = 0; c < kC; ++c) s[row * kC + c] = u(gen);
  for (std::size_t i = 0; i < kRest; ++i) s[kRows * kC + i] = u(gen);
  return s;
}

TEST(RowUnionReductionTest, SumsTheRowsAnyRankReadAndTheRestOverEveryRank) {
  constexpr int kRanks = 3;
  std::vector<float> dense(kRows * kC + kRest, 0.0f);  // the whole slab summed in rank order
  for (int r = 0; r < kRanks; ++r) {
    const std::vector<float> s = slab_of(r);
    for (std::size_t i = 0; i < dense.size(); ++i) dense[i] += s[i];
  }
  std::vector<std::vector<float>> got(kRanks);
  std::vector<std::vector<std::int32_t>> unions(kRanks);
  testing::rethrow_any(testing::run_ranks(kRanks, [&](dist::ProcessGroup& g, int r) {
    RowUnionReduction reduction(kRows, kC, kRest);
    for (int step = 0; step < 2; ++step) {  // twice: the second step reuses its buffers
      got[r] = slab_of(r);
      reduction.begin_step(g, rows_of(r));
      bool before_ran = false;
      reduction.reduce(g, got[r].data(), [&] { before_ran = true; }).wait();
      EXPECT_TRUE(before_ran);
      unions[r] = reduction.rows();
    }
  }));
  std::vector<std::int32_t> expected_union;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(kRows); ++i)
    for (int r = 0; r < kRanks; ++r) {
      const auto rows = rows_of(r);
      if (std::find(rows.begin(), rows.end(), i) != rows.end()) {
        expected_union.push_back(i);
        break;
      }
    }
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(unions[r], expected_union) << "rank " << r;
    for (std::size_t i = 0; i < dense.size(); ++i) ASSERT_EQ(got[r][i], dense[i]) << "rank " << r << " float " << i;
  }
}

}  // namespace
}  // namespace strata::train
