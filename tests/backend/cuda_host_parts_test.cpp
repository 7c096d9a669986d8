// The CUDA backend's parts that run on the host, tested in every build (no GPU needed): the device block's
// sub-allocator, the ordering rule between copies on different streams, and the shared Philox header that the CUDA
// dropout kernels compile (core/philox.h), which must give the CPU's masks bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/backend/cuda/block_allocator.h"
#if defined(STRATA_TEST_EXPECT_CUDA)
#include "strata/backend/cuda/cuda_blas.h"
#endif
#include "strata/backend/cuda/copy_order.h"
#include "strata/core/error.h"
#include "strata/core/philox.h"
#include "strata/core/rng.h"

namespace strata::backend::cuda {
namespace {

constexpr std::size_t kA = BlockAllocator::kAlign;

TEST(CudaBlockAllocator, AlignedFirstFitDisjointAndFull) {
  alignas(256) static char block[64 * kA];
  BlockAllocator a(block, sizeof(block));
  EXPECT_EQ(a.capacity(), sizeof(block));
  EXPECT_EQ(a.allocate(0), nullptr);
  char* p = static_cast<char*>(a.allocate(1));
  char* q = static_cast<char*>(a.allocate(kA + 1));  // rounds up to two units
  char* r = static_cast<char*>(a.allocate(kA));
  ASSERT_TRUE(p && q && r);
  EXPECT_EQ(p, block);  // first fit from the bottom
  EXPECT_EQ(q, block + kA);
  EXPECT_EQ(r, block + 3 * kA);
  for (char* x : {p, q, r}) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x) % kA, 0u);
  EXPECT_EQ(a.free_bytes(), sizeof(block) - 4 * kA);
  EXPECT_EQ(a.allocate(61 * kA), nullptr);  // 60 units left
  EXPECT_NE(a.allocate(60 * kA), nullptr);
  EXPECT_EQ(a.free_bytes(), 0u);
  EXPECT_EQ(a.allocate(1), nullptr);
  EXPECT_EQ(a.allocate(sizeof(block) + 1), nullptr);
}

TEST(CudaBlockAllocator, FreeCoalescesSoTheWholeBlockComesBack) {
  BlockAllocator a(nullptr, 16 * kA);  // bookkeeping only
  std::vector<void*> ps;
  for (int i = 0; i < 8; ++i) ps.push_back(a.allocate(2 * kA));
  EXPECT_EQ(a.allocate(1), nullptr);
  std::set<void*> distinct(ps.begin(), ps.end());
  EXPECT_EQ(distinct.size(), 8u);
  // Free every other one: 4 holes of 2 units, nothing bigger.
  for (int i = 0; i < 8; i += 2) a.deallocate(ps[i]);
  EXPECT_EQ(a.free_ranges(), 4u);
  EXPECT_EQ(a.largest_free(), 2 * kA);
  EXPECT_EQ(a.allocate(3 * kA), nullptr);
  // The rest, in an order that merges with neighbours on both sides.
  for (int i : {5, 1, 3, 7}) a.deallocate(ps[i]);
  EXPECT_EQ(a.free_ranges(), 1u);
  EXPECT_EQ(a.largest_free(), 16 * kA);
  EXPECT_NE(a.allocate(16 * kA), nullptr);
}

TEST(CudaBlockAllocator, UnknownPointerIsAnInternalError) {
  BlockAllocator a(nullptr, 4 * kA);
  void* p = a.allocate(kA);
  a.deallocate(p);
  EXPECT_THROW(a.deallocate(p), Error);  // double free
}

TEST(CudaBlockAllocator, DeviceBlockHasHeadroomForRounding) {
  // The arena counts requested bytes; the block must also hold each allocation's rounding up to kAlign.
  EXPECT_GE(device_block_bytes(std::size_t{8} << 30), (std::size_t{8} << 30) + 4096 * kA);
  EXPECT_GE(device_block_bytes(1), std::size_t{16} << 20);
  EXPECT_EQ(device_block_bytes(12345) % kA, 0u);
  // A budget's worth of odd-sized buffers fits the block.
  const std::size_t budget = std::size_t{1} << 20;
  BlockAllocator a(nullptr, device_block_bytes(budget, 1024));
  std::size_t used = 0;
  for (std::size_t n = 1; used + n <= budget && n < 1024; used += n, ++n) ASSERT_NE(a.allocate(n), nullptr) << n;
}

TEST(CudaCopyOrder, OnlyConflictingCopiesWait) {
  char h[4096], d[4096];
  auto fp = [](const void* dst, const void* src, std::size_t n) {
    return CopyFootprint{byte_range(dst, n), byte_range(src, n)};
  };
  const CopyFootprint up = fp(d, h, 1024);                      // h[0,1024) -> d[0,1024)
  EXPECT_TRUE(must_follow(up, fp(h + 2048, d, 512)));           // reads what `up` writes (read after write)
  EXPECT_TRUE(must_follow(up, fp(h, d + 2048, 16)));            // writes what `up` reads (write after read)
  EXPECT_TRUE(must_follow(up, fp(d + 1000, h + 3000, 100)));    // writes what `up` writes (write after write)
  EXPECT_FALSE(must_follow(up, fp(h + 2048, d + 1024, 1024)));  // disjoint: the streams overlap freely
  EXPECT_FALSE(must_follow(up, fp(d + 2048, h, 1024)));         // both only read h[0, 1024)
  EXPECT_FALSE(byte_range(d, 0).overlaps(byte_range(d, 10)));   // an empty range touches nothing
}

TEST(CudaCopyOrder, RowCopiesSpanTheirLowestToHighestRow) {
  char table[100 * 8];
  const ByteRange r = rows_range(table, {7, 2, 9, 2}, 8);
  EXPECT_EQ(r.begin, reinterpret_cast<std::uintptr_t>(table + 16));
  EXPECT_EQ(r.end, reinterpret_cast<std::uintptr_t>(table + 80));
  EXPECT_FALSE(r.overlaps(byte_range(table, 16)));
  EXPECT_TRUE(r.overlaps(byte_range(table + 79, 1)));
  EXPECT_EQ(rows_range(table, {}, 8).end, 0u);
}

// Known-answer vectors of Philox4x32-10 (Random123's kat_vectors): the shared header is the published generator.
TEST(CudaSharedPhilox, KnownAnswers) {
  std::uint32_t zero[4] = {0, 0, 0, 0};
  philox4x32_10(zero, 0);
  EXPECT_EQ(zero[0], 0x6627e8d5u);
  EXPECT_EQ(zero[1], 0xe169c58du);
  EXPECT_EQ(zero[2], 0xbc57ac4cu);
  EXPECT_EQ(zero[3], 0x9b00dbd8u);
  std::uint32_t ones[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  philox4x32_10(ones, 0xffffffffffffffffull);
  EXPECT_EQ(ones[0], 0x408f276du);
  EXPECT_EQ(ones[1], 0x41c83b0eu);
  EXPECT_EQ(ones[2], 0xa20bc7c6u);
  EXPECT_EQ(ones[3], 0x6d5451fdu);
}

// The CUDA kernels call philox_dropped; the CPU kernels and the contract use dropout_dropped / philox_uniform. Same
// draws and same drop decisions over many keys, counters past 2^32 and the edge probabilities.
TEST(CudaSharedPhilox, SameMaskAsTheCpuContract) {
  std::size_t dropped = 0, n = 0;
  for (int site = 0; site < 4; ++site) {
    const std::uint64_t key = dropout_key(42, 7, 3, 1, site);
    for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, (std::uint64_t{1} << 32) + 5, ~std::uint64_t{0}}) {
      EXPECT_EQ(philox_uniform_hd(key, i), philox_uniform(key, i));
    }
    for (std::uint64_t i = 0; i < 20000; ++i) {
      for (float p : {0.0f, 0.1f, 0.5f, 1.0f}) {
        ASSERT_EQ(philox_dropped(key, i, p), dropout_dropped(key, i, p)) << key << " " << i << " " << p;
      }
      dropped += philox_dropped(key, i, 0.1f);
      ++n;
    }
  }
  EXPECT_NEAR(static_cast<double>(dropped) / n, 0.1, 0.01);
  EXPECT_FALSE(philox_dropped(1, 2, 0.0f));  // p = 0 keeps everything
  EXPECT_TRUE(philox_dropped(1, 2, 1.0f));   // p = 1 drops everything (uniforms are < 1)
}

#if defined(STRATA_TEST_EXPECT_CUDA)
// cuBLAS is loaded at run time, not linked: loading needs no GPU, so a CUDA build checks here that every entry point
// the backend calls resolves in the toolkit's library (a wrong symbol name would otherwise show only on a GPU).
TEST(CudaBlasLoader, ResolvesEveryEntryPoint) {
  const Blas& b = blas();
  EXPECT_TRUE(b.create && b.destroy && b.set_stream && b.gemm_ex && b.gemm_strided_batched_ex && b.status_string);
  EXPECT_EQ(&b, &blas());  // loaded once
  EXPECT_NE(std::string(b.status_string(CUBLAS_STATUS_NOT_INITIALIZED)), "");
}
#endif

}  // namespace
}  // namespace strata::backend::cuda
