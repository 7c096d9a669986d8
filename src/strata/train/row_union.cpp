// The union-of-rows reduction of layer 0's gradient (see row_union.h).
#include "strata/train/row_union.h"

#include <algorithm>
#include <cstring>

namespace strata::train {

RowUnionReduction::RowUnionReduction(std::size_t table_rows, std::size_t row_floats, std::size_t rest_floats)
    : table_rows_(table_rows), row_floats_(row_floats), rest_floats_(rest_floats) {}

void RowUnionReduction::begin_step(dist::ProcessGroup& group, const std::vector<std::int32_t>& rows) {
  presence_sum_.wait();  // the previous step's (long done: its union was needed for the last reduce)
  presence_.assign(table_rows_, 0.0);
  for (const std::int32_t r : rows) presence_[static_cast<std::size_t>(r)] = 1.0;
  // Small integers: exact in any order. Queued before any of the step's gradients, so it is done long before
  // reduce() needs it.
  presence_sum_ = group.all_reduce_sum_async(presence_.data(), presence_.size());
}

dist::Request RowUnionReduction::reduce(dist::ProcessGroup& group, float* slab, std::function<void()> before) {
  presence_sum_.wait();
  union_.clear();
  for (std::size_t r = 0; r < table_rows_; ++r)
    if (presence_[r] > 0.0) union_.push_back(static_cast<std::int32_t>(r));
  const std::size_t C = row_floats_, U = union_.size();
  packed_.resize(U * C + rest_floats_);
  const float* rest = slab + table_rows_ * C;
  auto pack = [this, slab, rest, C, U, before = std::move(before)] {
    if (before) before();
    for (std::size_t i = 0; i < U; ++i)
      std::memcpy(packed_.data() + i * C, slab + static_cast<std::size_t>(union_[i]) * C, C * sizeof(float));
    std::memcpy(packed_.data() + U * C, rest, rest_floats_ * sizeof(float));
  };
  const dist::Request sum = group.all_reduce_sum_async(packed_.data(), packed_.size(), std::move(pack));
  return group.run_async([this, sum, slab, C, U] {  // after the sum, in the group's order
    sum.wait();                                     // done; rethrows its failure
    for (std::size_t i = 0; i < U; ++i)
      std::memcpy(slab + static_cast<std::size_t>(union_[i]) * C, packed_.data() + i * C, C * sizeof(float));
    std::memcpy(slab + table_rows_ * C, packed_.data() + U * C, rest_floats_ * sizeof(float));
  });
}

}  // namespace strata::train
