// ThreadPool: every item runs exactly once, exceptions propagate, chunks cover the range, niced workers.
#include "strata/core/thread_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

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
  EXPECT_THROW(pool.parallel_for(10,
                                 [](std::size_t i) {
                                   if (i == 7) throw std::runtime_error("x");
                                 }),
               std::runtime_error);
  int sum = 0;
  pool.parallel_for(1, [&](std::size_t) { sum = 1; });
  EXPECT_EQ(sum, 1);
}

// Workers of a pool with a nice increment run at lower priority; the calling thread keeps its own.
TEST(ThreadPool, NiceIncrementLowersTheWorkersOnly) {
  auto nice_of_this_thread = [] { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); };
  const int base = nice_of_this_thread();
  if (base > 14) GTEST_SKIP() << "this process already runs at nice " << base << ": no room to lower a thread by 5";
  strata::ThreadPool pool(2, 5);
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::vector<int> nices;
  pool.parallel_for(2, [&](std::size_t) {  // both items wait for each other: two threads take part
    std::unique_lock<std::mutex> lock(mu);
    nices.push_back(nice_of_this_thread());
    ++arrived;
    cv.notify_all();
    cv.wait(lock, [&] { return arrived == 2; });
  });
  std::sort(nices.begin(), nices.end());
  EXPECT_EQ(nices, (std::vector<int>{base, base + 5}));
  EXPECT_EQ(nice_of_this_thread(), base);
}
