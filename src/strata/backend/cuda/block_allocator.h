// First-fit sub-allocator over one reserved block: the CUDA backend's device arena takes its memory from one
// cudaMalloc'd block of --device-memory bytes through this. Pure bookkeeping on offsets (no CUDA), so it is built and
// tested in every build.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>

namespace strata::backend::cuda {

class BlockAllocator {
 public:
  static constexpr std::size_t kAlign = 256;  // cudaMalloc's alignment, so sub-allocations suit every kernel and copy

  // Manages [base, base + bytes); base must be kAlign-aligned (or null for bookkeeping-only use in tests).
  BlockAllocator(char* base, std::size_t bytes);
  BlockAllocator(const BlockAllocator&) = delete;
  BlockAllocator& operator=(const BlockAllocator&) = delete;

  // kAlign-aligned memory of at least `bytes` bytes from the lowest free range that fits; nullptr when none does
  // (then the arena reports the budget). 0 bytes: nullptr.
  void* allocate(std::size_t bytes);
  // Returns memory from allocate(); merges it with free neighbours. Unknown pointers are an internal error.
  void deallocate(void* p);

  std::size_t capacity() const { return capacity_; }
  std::size_t free_bytes() const;
  std::size_t largest_free() const;
  std::size_t free_ranges() const;

 private:
  char* base_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::size_t, std::size_t> free_;  // offset -> size, disjoint and never adjacent
  std::map<std::size_t, std::size_t> used_;  // offset -> size (rounded up to kAlign)
};

// Bytes of the one device block for a device budget: the budget counts requested bytes while the block also holds
// each allocation's rounding to kAlign, so the block has headroom for `allocations` of them (at least 16 MiB).
std::size_t device_block_bytes(std::size_t budget, std::size_t allocations = 4096);

}  // namespace strata::backend::cuda
