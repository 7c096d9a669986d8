// Data parallel with compact embeddings (L2L): a step's word-table gradient is non-zero only on the rows some process
// read. Summing only those rows -- their union over the group -- and the rest of layer 0's slab gives the same dense
// result as summing the whole table (the other rows are zero on every process), with a fraction of the bytes; this
// is the last reduction of a step, the one that cannot overlap compute, so its size is the step's exposed time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "strata/dist/process_group.h"

namespace strata::train {

class RowUnionReduction {
 public:
  // Layer 0's slab: a table of table_rows x row_floats floats, then rest_floats more.
  RowUnionReduction(std::size_t table_rows, std::size_t row_floats, std::size_t rest_floats);

  // Queues the step's row presence (this process's rows: sorted, distinct, < table_rows) summed over the group.
  // Collective: every process calls it once per step, before reduce().
  void begin_step(dist::ProcessGroup& group, const std::vector<std::int32_t>& rows);

  // Queues the sum of `slab` over the group on the union's rows and the rest: packed after `before` (the copy that
  // fills the slab), summed, unpacked. The request completes once the slab holds the sum. Rows outside the union
  // must be zero on every process.
  dist::Request reduce(dist::ProcessGroup& group, float* slab, std::function<void()> before);

  // The union of the last reduce() (sorted): the only table rows the reduced slab may hold non-zero values in.
  const std::vector<std::int32_t>& rows() const { return union_; }

 private:
  std::size_t table_rows_, row_floats_, rest_floats_;
  std::vector<double> presence_;  // (table_rows): how many processes read each row this step
  dist::Request presence_sum_;
  std::vector<std::int32_t> union_;
  std::vector<float> packed_;  // (|union| * row_floats + rest_floats)
};

}  // namespace strata::train
