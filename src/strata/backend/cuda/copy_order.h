// Which queued copies must wait for which: the CUDA backend runs host->device and device->host copies on separate
// streams (so they overlap each other and compute), but the Backend contract promises copies complete as if run in
// the order they were queued. A copy therefore waits for an earlier copy on another stream exactly when their byte
// ranges conflict (one writes what the other reads or writes). Plain C++, tested on the CPU.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::backend::cuda {

struct ByteRange {
  std::uintptr_t begin = 0, end = 0;  // [begin, end)
  bool overlaps(const ByteRange& o) const { return begin < o.end && o.begin < end; }
};

inline ByteRange byte_range(const void* p, std::size_t bytes) {
  const auto b = reinterpret_cast<std::uintptr_t>(p);
  return ByteRange{b, b + bytes};
}

// The bytes a row copy touches on its row-indexed side: the span from the lowest to the highest listed row
// (conservative: rows in between count as touched).
inline ByteRange rows_range(const void* base, const std::vector<std::int32_t>& rows, std::size_t row_bytes) {
  if (rows.empty()) return {};
  const auto [lo, hi] = std::minmax_element(rows.begin(), rows.end());
  const auto b = reinterpret_cast<std::uintptr_t>(base);
  return ByteRange{b + static_cast<std::size_t>(*lo) * row_bytes, b + (static_cast<std::size_t>(*hi) + 1) * row_bytes};
}

// What one copy reads (src) and writes (dst).
struct CopyFootprint {
  ByteRange dst, src;
};

// True when `later` must not start before `earlier` completes: write-after-write, read-after-write or
// write-after-read on some byte. Two reads of the same bytes need no order.
inline bool must_follow(const CopyFootprint& earlier, const CopyFootprint& later) {
  return later.dst.overlaps(earlier.dst) || later.dst.overlaps(earlier.src) || later.src.overlaps(earlier.dst);
}

}  // namespace strata::backend::cuda
