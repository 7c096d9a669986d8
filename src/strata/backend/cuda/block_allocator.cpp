// BlockAllocator: free ranges in an ordered map (offset -> size), first fit, coalescing on free.
#include "strata/backend/cuda/block_allocator.h"

#include <algorithm>
#include <iterator>

#include "strata/core/error.h"

namespace strata::backend::cuda {

BlockAllocator::BlockAllocator(char* base, std::size_t bytes) : base_(base), capacity_(bytes / kAlign * kAlign) {
  if (capacity_ > 0) free_[0] = capacity_;
}

void* BlockAllocator::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes > capacity_) return nullptr;
  const std::size_t need = (bytes + kAlign - 1) / kAlign * kAlign;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < need) continue;
    const std::size_t off = it->first, left = it->second - need;
    free_.erase(it);
    if (left > 0) free_[off + need] = left;
    used_[off] = need;
    // A null base (bookkeeping-only) still hands out distinct non-null addresses: offset + kAlign.
    return base_ ? base_ + off : reinterpret_cast<char*>(off + kAlign);
  }
  return nullptr;
}

void BlockAllocator::deallocate(void* p) {
  if (!p) return;
  const std::size_t off =
      base_ ? static_cast<std::size_t>(static_cast<char*>(p) - base_) : reinterpret_cast<std::size_t>(p) - kAlign;
  std::lock_guard<std::mutex> lk(mu_);
  auto u = used_.find(off);
  STRATA_CHECK(u != used_.end(), "BlockAllocator: freeing ", p, ", which it did not allocate");
  std::size_t start = off, size = u->second;
  used_.erase(u);
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == start + size) {  // merge with the free range after
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {  // merge with the free range before
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      size += prev->second;
      free_.erase(prev);
    }
  }
  free_[start] = size;
}

std::size_t BlockAllocator::free_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::size_t total = 0;
  for (const auto& [off, size] : free_) total += size;
  return total;
}

std::size_t BlockAllocator::largest_free() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::size_t best = 0;
  for (const auto& [off, size] : free_) best = std::max(best, size);
  return best;
}

std::size_t BlockAllocator::free_ranges() const {
  std::lock_guard<std::mutex> lk(mu_);
  return free_.size();
}

std::size_t device_block_bytes(std::size_t budget, std::size_t allocations) {
  const std::size_t headroom = std::max<std::size_t>(std::size_t{16} << 20, allocations * BlockAllocator::kAlign);
  return (budget + headroom + BlockAllocator::kAlign - 1) / BlockAllocator::kAlign * BlockAllocator::kAlign;
}

}  // namespace strata::backend::cuda
