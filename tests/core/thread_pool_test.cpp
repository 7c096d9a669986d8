// ThreadPool: every item runs exactly once, exceptions propagate, chunks cover the range.
#include "strata/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

TEST(ThreadPool, EachItemOnce) {
  strata::ThreadPool pool(3);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, ChunksCoverRange) {
  strata::ThreadPool pool(4);
  std::vector<int> v(101, 0);
  pool.parallel_chunks(v.size(), [&](std::size_t b, std::size_t e) {
    for (auto i = b; i < e; ++i) v[i]++;
  });
  for (int x : v) ASSERT_EQ(x, 1);
}

TEST(ThreadPool, RethrowsException) {
  strata::ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10, [](std::size_t i) { if (i == 7) throw std::runtime_error("x"); }),
               std::runtime_error);
  int sum = 0;
  pool.parallel_for(1, [&](std::size_t) { sum = 1; });
  EXPECT_EQ(sum, 1);
}
